"""ZSSR's parts: the network, kernels and the son/father pair, augmentation, the rate policy,
the geometric ensemble and back-projection."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sinir_jax as sj
from sinir_jax.zssr import config as config_lib
from sinir_jax.zssr import ensemble
from sinir_jax.zssr import examples
from sinir_jax.zssr import kernels
from sinir_jax.zssr import network
from sinir_jax.zssr import policy
from conftest import smooth_image


def test_network_shapes_init_and_residual():
  net = network.ZSSRNet(width=64, depth=8)
  params = net.init(jax.random.key(0), jnp.zeros((1, 13, 9, 3)))["params"]
  assert sorted(params) == [f"conv_{k}" for k in range(8)]  # kernels only: no biases
  shapes = [params[f"conv_{k}"].shape for k in range(8)]
  assert shapes[0] == (3, 3, 3, 64) and shapes[1:7] == [(3, 3, 64, 64)] * 6
  assert shapes[7] == (3, 3, 64, 3)
  for k, fan_in in ((0, 27), (3, 576)):
    std = float(np.asarray(params[f"conv_{k}"]).std())
    assert abs(std - math.sqrt(0.1 / fan_in)) < 0.05 * math.sqrt(0.1 / fan_in)
  x = jax.random.uniform(jax.random.key(1), (2, 13, 9, 3))
  assert net.apply({"params": params}, x).shape == (2, 13, 9, 3)
  zero = jax.tree.map(jnp.zeros_like, {"params": params})
  np.testing.assert_array_equal(net.apply(zero, x), x)  # the residual over the input
  grey = network.ZSSRNet(width=8, depth=3)
  assert grey.apply(grey.init(jax.random.key(2), x[..., :1]), x[..., :1]).shape == (2, 13, 9, 1)


def test_kernel_downscale_is_blur_then_every_factor_th_pixel():
  x = jax.random.uniform(jax.random.key(0), (8, 12, 3))
  delta = np.zeros((3, 3))
  delta[1, 1] = 1
  np.testing.assert_allclose(kernels.downscale(x, (4, 6), delta), x[::2, ::2], atol=1e-6)
  box = np.full((2, 2), 0.25)  # even: centred at [1, 1], i.e. rows r-1, r
  down = np.asarray(kernels.downscale(x, (4, 6), box))
  padded = np.pad(np.asarray(x), ((1, 0), (1, 0), (0, 0)), mode="symmetric")
  expected = (padded[:-1:2, :-1:2] + padded[1::2, :-1:2] + padded[:-1:2, 1::2] +
              padded[1::2, 1::2]) / 4
  np.testing.assert_allclose(down, expected[:4, :6], atol=1e-6)


def test_shift_kernel_moves_the_centre_of_mass_as_the_official_code():
  yy, xx = np.mgrid[:9, :9]
  gaussian = np.exp(-((yy - 4) ** 2 / 2 + (xx - 4) ** 2 / 4.5))
  gaussian /= gaussian.sum()
  shifted = kernels.shift_kernel(gaussian, 2)
  assert shifted.shape == (13, 13)
  com = np.array([np.sum(shifted * np.mgrid[:13, :13][i]) / shifted.sum() for i in range(2)])
  np.testing.assert_allclose(com, [6.5, 6.5], atol=0.02)  # 13 // 2 + (2 - 1) / 2
  assert abs(shifted.sum() - 1) < 1e-3


def test_load_kernel_formats_and_refusals(tmp_path):
  import scipy.io  # pylint: disable=import-outside-toplevel
  kernel = np.full((5, 5), 1 / 25)
  np.save(tmp_path / "k.npy", kernel)
  scipy.io.savemat(tmp_path / "k.mat", {"Kernel": kernel})
  for name in ("k.npy", "k.mat"):
    np.testing.assert_allclose(kernels.load_kernel(tmp_path / name), kernel)
  np.save(tmp_path / "sum2.npy", kernel * 2)
  np.save(tmp_path / "vector.npy", np.ones(5) / 5)
  np.save(tmp_path / "nan.npy", np.full((3, 3), np.nan))
  (tmp_path / "junk.npy").write_bytes(b"not numpy")
  for name, message in (("sum2.npy", "not normalised"), ("vector.npy", "2-D"),
                        ("nan.npy", "NaN"), ("junk.npy", "unreadable"), ("none.npy", "no such")):
    with pytest.raises(sj.InputError, match=message) as err:
      kernels.load_kernel(tmp_path / name)
    assert "--kernel" in str(err.value) and "\n" not in str(err.value)


def test_warp_identity_translation_and_rotation():
  source = jax.random.uniform(jax.random.key(0), (10, 12, 3))
  np.testing.assert_allclose(examples.warp(source, jnp.eye(3), 6), source[:6, :6], atol=1e-6)
  shift = jnp.array([[1.0, 0, 3], [0, 1, 2], [0, 0, 1]])  # father (x, y) <- source (x+3, y+2)
  np.testing.assert_allclose(examples.warp(source, shift, 6), source[2:8, 3:9], atol=1e-6)
  square = source[:8, :8]
  # rot90 (anticlockwise): father (x, y) <- source (7 - y, x).
  rot = jnp.array([[0.0, -1, 7], [1, 0, 0], [0, 0, 1]])
  np.testing.assert_allclose(examples.warp(square, rot, 8), jnp.rot90(square), atol=1e-6)
  outside = examples.warp(source, jnp.array([[1.0, 0, 20], [0, 1, 0], [0, 0, 1]]), 4)
  assert float(jnp.abs(outside).max()) == 0  # zeros outside the source


def test_son_noise_and_clipping():
  # A bicubic son overshoots at edges: clipped to 0..1 with or without noise, as the official.
  son = jnp.array([[-0.1, 0.2], [0.5, 1.2]])[..., None]
  np.testing.assert_array_equal(examples.add_noise(jax.random.key(0), son, 0.0),
                                jnp.clip(son, 0, 1))
  noisy = examples.add_noise(jax.random.key(0), jnp.full((64, 64, 1), 0.5), 0.05)
  assert 0.04 < float(jnp.std(noisy)) < 0.06
  np.testing.assert_array_equal(noisy, examples.add_noise(jax.random.key(0),
                                                          jnp.full((64, 64, 1), 0.5), 0.05))


def test_augmentation_modes_and_their_probabilities():
  config = config_lib.ZSSRConfig(crop_size=16)
  rng = np.random.default_rng(0)
  integer = 0
  for _ in range(2000):
    index, matrix = examples.sample(rng, [(40, 50)], [1.0], config)
    assert index == 0
    integer += np.allclose(matrix, np.round(matrix), atol=1e-6)
  # leave-as-is (0.05) and flips/90-degree turns (0.45) land on whole pixels; affine (0.5) not.
  assert abs(integer / 2000 - 0.5) < 0.04
  still = config.replace(leave_as_is_p=1.0)
  for _ in range(20):
    _, matrix = examples.sample(rng, [(40, 50)], [1.0], still)
    np.testing.assert_allclose(matrix[:2, :2], np.eye(2), atol=1e-6)  # a plain crop
  # Gradual SR: a scale above 1 draws its father from the x1.5 result.
  late = config.replace(min_scale=1.2)
  picks = {examples.sample(rng, [(40, 50), (60, 75)], [1.0, 1.5], late)[0] for _ in range(50)}
  assert picks == {0, 1}


def test_fit_slope_is_polyfit_with_the_official_numpys_scaling():
  steps = np.array([50, 100, 150, 200, 250.0])
  errors = np.array([1.0, 0.9, 0.95, 0.8, 0.82])
  slope, std = policy.fit_slope(steps, errors)
  coef, cov = np.polyfit(steps, errors, 1, cov=True)  # modern numpy: residuals / (5 - 2)
  assert slope == pytest.approx(coef[0])
  assert std == pytest.approx(math.sqrt(cov[0, 0] * 3))  # / (5 - 4), as numpy of 2018


def test_rate_policy_on_synthetic_error_curves():
  config = config_lib.ZSSRConfig()
  falling, flat = policy.RatePolicy(config), policy.RatePolicy(config)
  rng = np.random.default_rng(0)
  stop = None
  for step in range(1, 3001):
    if step % config.test_every == 0:
      falling.record(step, 1.0 - step * 1e-4 + 1e-6 * rng.standard_normal())
      flat.record(step, 1.0 + 1e-3 * rng.standard_normal())
    if step % config.policy_every == 0:
      assert not falling.check(step)
      if stop is None and flat.check(step):
        stop = step
  assert falling.lr == config.lr and not falling.changes  # still learning: no decay
  assert flat.changes[0] == 300 and np.all(np.diff(flat.changes) > config.min_iters)
  assert stop == flat.changes[2]  # the third decay takes the rate below min_lr: stop


@pytest.mark.parametrize("k", range(8))
def test_ensemble_variants_invert_exactly(k):
  x = jax.random.uniform(jax.random.key(k), (5, 7, 3))
  np.testing.assert_array_equal(ensemble.undo(ensemble.variant(x, k), k), x)
  assert ensemble.variant(x, k).shape == ((5, 7, 3) if k % 2 == 0 else (7, 5, 3))


def test_back_projection_reduces_the_lr_consistency_error():
  hr = (smooth_image(32, 40) + 1) / 2
  lr = kernels.downscale(hr, (16, 20))
  estimate = jnp.clip(kernels.upscale(lr, (32, 40)) + 0.05 * jax.random.normal(
      jax.random.key(0), (32, 40, 3)), 0, 1)
  error = lambda y: float(jnp.abs(kernels.downscale(y, (16, 20)) - lr).mean())
  errors = [error(ensemble.back_project(estimate, lr, n)) for n in (0, 1, 5)]
  assert errors[0] > errors[1] > errors[2] and errors[2] < 0.3 * errors[0]


def test_ensemble_of_an_identity_net_is_back_projected_bicubic():
  lr = (smooth_image(12, 16) + 1) / 2
  out = ensemble.super_resolve(lambda x: x, lr, (2, 2), 3)
  bicubic = ensemble.back_project(jnp.clip(kernels.upscale(lr, (24, 32)), 0, 1), lr, 3)
  expected = ensemble.back_project(bicubic, lr, 3)  # every variant equal: median = any
  np.testing.assert_allclose(out, expected, atol=2e-3)
  assert ensemble.variants_of((2, 2), True) == tuple(range(8))
  assert ensemble.variants_of((1.5, 2), True) == (0, 2, 4, 6)
  assert ensemble.variants_of((2, 2), False) == (0,)


def test_config_factors_and_validation():
  cfg = config_lib.ZSSRConfig
  assert cfg(sr_factor=2).factors() == ((2.0, 2.0),)
  assert cfg(sr_factor=4).factors() == ((2.0, 2.0), (4.0, 4.0))
  assert [f[0] for f in cfg(sr_factor=8).factors()] == pytest.approx([2, 4, 8])
  assert cfg(sr_factor=4, kernel="k.npy").factors() == ((4.0, 4.0),)
  gradual = cfg(scale_factors="1:1.5,1.5:1,1.5,1.5:2,2:1.5,2", back_projection_iters="6,6,8,10,"
                "10,12")
  assert gradual.factors()[0] == (1.0, 1.5) and gradual.bp_iters() == (6, 6, 8, 10, 10, 12)
  assert cfg(sr_factor=4).bp_iters() == (10, 10)
  for changes, message in ((dict(sr_factor=1.0), "--sr_factor"),
                           (dict(sr_factor=float("inf")), "--sr_factor"),
                           (dict(scale_factors="2,x"), "--scale_factors"),
                           (dict(scale_factors="2", sr_factor=4), "last of --scale_factors"),
                           (dict(back_projection_iters="1,2,3"), "--back_projection_iters"),
                           (dict(kernel="k.npy", sr_factor=2.5), "whole, equal factors"),
                           (dict(leave_as_is_p=0.7), "must be <= 1")):
    with pytest.raises(sj.InputError, match=message):
      cfg(**changes).validate()
