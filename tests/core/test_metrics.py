"""Tests for sinir_jax.core.metrics: golden values on BSD100 (dev subset) and self-contained checks."""
import functools
import json
import os

import dm_pix
import imageio.v3 as iio
import jax
import numpy as np
import pytest
import scipy.ndimage

from sinir_jax.core import metrics
from sinir_jax.core.resampling import resize
from conftest import GOLDEN, SHARED

_DATA = os.path.join(SHARED, "data", "bsd100_dev")
_GOLDEN = os.path.join(GOLDEN, "bicubic_bsd100_dev.json")

# Golden keys -> the metric call that reproduces them.
_JAX_METRICS = {
    "rmse_rgb": metrics.rmse,
    "ssim_rgb": metrics.ssim,
    "msssim_rgb": metrics.ms_ssim,
    "psnr_y_c4": functools.partial(metrics.psnr, crop=4, y_only=True),
    "ssim_y_c4": functools.partial(metrics.ssim, crop=4, y_only=True),
}


def _rng_image(shape, seed=0, high=256):
  return np.random.default_rng(seed).integers(0, high, shape).astype(np.uint8)


def _pink_noise_rgb(size, seed):
  """A grey texture with a natural 1/f amplitude spectrum, (size, size, 3) float on 0..255."""
  rng = np.random.default_rng(seed)
  f = np.fft.fftfreq(size)
  radius = np.hypot(f[:, None], f[None, :])
  radius[0, 0] = 1.0
  spectrum = (rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))) / radius
  img = np.real(np.fft.ifft2(spectrum))
  img = (img - img.min()) / (img.max() - img.min()) * 255
  return np.repeat(img[..., None], 3, axis=-1).round()


@pytest.fixture(scope="module")
def bsd100_dev():
  """(golden record, bicubic x4 upsampling as uint8, HR uint8) for each golden image."""
  if not os.path.isdir(os.path.join(_DATA, "HR")):
    pytest.skip(f"shared BSD100 dev data not found under {SHARED} (set SINIR_SHARED)")
  with open(_GOLDEN, encoding="utf-8") as f:
    records = json.load(f)
  cases = []
  for record in records:
    hr = iio.imread(os.path.join(_DATA, "HR", record["image"]))
    lr = iio.imread(os.path.join(_DATA, "LR_x4", record["image"].replace("_HR.", "_LR.")))
    up = resize(lr.astype(np.float32), hr.shape[:2], method="matlab")
    up = np.clip(np.round(np.asarray(up)), 0, 255).astype(np.uint8)
    cases.append((record, up, hr))
  return cases


@pytest.mark.parametrize("key", sorted(_JAX_METRICS))
def test_golden_bicubic_bsd100_dev(bsd100_dev, key):
  fn = _JAX_METRICS[key]
  errors = [abs(float(fn(up, hr)) - record[key]) for record, up, hr in bsd100_dev]
  assert max(errors) < 1e-3, (key, max(errors))


@pytest.mark.parametrize("key, which", [("niqe_y", 1), ("niqe_y_hr", 2)])
def test_golden_niqe_bsd100_dev(bsd100_dev, key, which):
  errors = [abs(metrics.niqe(case[which]) - case[0][key]) for case in bsd100_dev]
  assert max(errors) < 1e-2, (key, max(errors))


def test_identical_images():
  a = _rng_image((170, 175, 3))
  assert metrics.psnr(a, a) == np.inf
  assert metrics.rmse(a, a) == 0.0
  np.testing.assert_allclose(metrics.ssim(a, a), 1.0, atol=1e-6)
  np.testing.assert_allclose(metrics.ms_ssim(a, a), 1.0, atol=1e-6)


def test_constant_offset():
  a = _rng_image((40, 50, 3), high=200)
  b = a + np.uint8(10)
  assert float(metrics.rmse(a, b)) == 10.0
  np.testing.assert_allclose(metrics.psnr(a, b), 20 * np.log10(25.5), rtol=1e-6)
  y_offset = 10 * (65.481 + 128.553 + 24.966) / 255
  np.testing.assert_allclose(metrics.psnr(a, b, crop=4, y_only=True),
                             20 * np.log10(255 / y_offset), rtol=1e-5)


def test_rgb_to_y():
  rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], np.uint8)
  np.testing.assert_allclose(metrics.rgb_to_y(rgb)[..., 0], [[16.0, 235.0, 16 + 65.481]],
                             rtol=1e-6)


def test_ssim_matches_dm_pix():
  a = _rng_image((40, 50, 3), seed=1).astype(np.float32)
  b = np.clip(a + np.random.default_rng(2).normal(0, 20, a.shape), 0, 255).astype(np.float32)
  expected = dm_pix.ssim(a, b, max_val=255.0, filter_size=11, filter_sigma=1.5)
  np.testing.assert_allclose(metrics.ssim(a, b), expected, atol=1e-5)


def test_ms_ssim_pooling_pads_odd_sides():
  pooled = metrics._avg_pool2(np.ones((3, 3, 1), np.float32))[..., 0]
  np.testing.assert_allclose(pooled, [[0.25, 0.5], [0.5, 1.0]])


@pytest.mark.parametrize("channels", [1, 3])
def test_uint8_and_float_inputs_agree(channels):
  a = _rng_image((170, 175, channels), seed=3)
  b = _rng_image((170, 175, channels), seed=4)
  for fn in (metrics.rmse, metrics.psnr, metrics.ssim, metrics.ms_ssim, metrics.niqe):
    args = (a, b) if fn is not metrics.niqe else (a,)
    as_float = [x.astype(np.float32) for x in args]
    assert float(fn(*args)) == float(fn(*as_float)), fn.__name__


def test_jit_matches_eager():
  a = _rng_image((170, 175, 3), seed=5)
  b = np.clip(a.astype(np.float32) + np.random.default_rng(6).normal(0, 10, a.shape), 0, 255)
  for name, fn in _JAX_METRICS.items():
    nested = jax.jit(lambda x, y, fn=fn: fn(x, y) * 1.0)(a, b)
    assert nested.shape == () and nested.dtype == np.float32, name
    with jax.disable_jit():
      eager = fn(a, b)
    np.testing.assert_allclose(nested, eager, rtol=1e-5, err_msg=name)


@pytest.mark.parametrize("call", [
    lambda: metrics.rmse(np.zeros((20, 20, 3)), np.zeros((20, 21, 3))),
    lambda: metrics.rmse(np.zeros((20, 20)), np.zeros((20, 20))),
    lambda: metrics.ssim(np.zeros((10, 40, 3)), np.zeros((10, 40, 3))),
    lambda: metrics.ssim(np.zeros((30, 40, 3)), np.zeros((30, 40, 3)), crop=10),
    lambda: metrics.psnr(np.zeros((30, 40, 1)), np.zeros((30, 40, 1)), y_only=True),
    lambda: metrics.ms_ssim(np.zeros((160, 200, 3)), np.zeros((160, 200, 3))),
    lambda: metrics.niqe(np.zeros((95, 200, 3))),
    lambda: metrics.niqe(np.zeros((96, 96, 2))),
])
def test_bad_inputs_raise(call):
  with pytest.raises(ValueError):
    call()


def test_smallest_accepted_sizes():
  a, b = _rng_image((161, 161, 3), seed=7), _rng_image((161, 161, 3), seed=8)
  assert np.isfinite(metrics.ssim(a[:11, :11], b[:11, :11]))
  assert np.isfinite(metrics.ms_ssim(a, b))
  assert np.isfinite(metrics.niqe(_pink_noise_rgb(96, seed=0)))


def test_niqe_ranks_degradation():
  img = _pink_noise_rgb(192, seed=0)
  blurred = scipy.ndimage.gaussian_filter(img, (3, 3, 0))
  degraded = np.clip(blurred + np.random.default_rng(1).normal(0, 25, img.shape), 0, 255)
  scores = [metrics.niqe(x) for x in (img, blurred.round(), degraded.round())]
  assert np.all(np.isfinite(scores))
  assert scores[0] + 2 < scores[1] < scores[2], scores
