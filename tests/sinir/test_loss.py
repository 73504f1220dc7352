import dm_pix
import jax
import jax.numpy as jnp
import numpy as np

import sinir_jax as sj
from sinir_jax.sinir import loss as losses


def _reference_ssim(a, b, window, sigma=1.5):
  """Direct numpy SSIM of (H, W, C) images in [0, 1]: Gaussian window, valid, per channel."""
  coords = np.arange(window) - window // 2
  g = np.exp(-coords ** 2 / (2 * sigma ** 2))
  g /= g.sum()
  kernel = np.outer(g, g)

  def filt(x):
    h, w = x.shape
    out = np.empty((h - window + 1, w - window + 1))
    for i in range(out.shape[0]):
      for j in range(out.shape[1]):
        out[i, j] = np.sum(x[i:i + window, j:j + window] * kernel)
    return out

  values = []
  for c in range(a.shape[-1]):
    x, y = a[..., c].astype(np.float64), b[..., c].astype(np.float64)
    mx, my = filt(x), filt(y)
    sxx, syy, sxy = filt(x * x) - mx ** 2, filt(y * y) - my ** 2, filt(x * y) - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    values.append(np.mean((2 * mx * my + c1) * (2 * sxy + c2) /
                          ((mx ** 2 + my ** 2 + c1) * (sxx + syy + c2))))
  return np.array(values)


def test_matches_release(golden):
  data = golden("loss")
  loss = sj.sinir_loss(jnp.asarray(data["a"])[None], jnp.asarray(data["b"])[None])
  np.testing.assert_allclose(float(loss), float(data["loss"]), atol=1e-5)


def test_negative_ssim_channels_are_clamped():
  rng = np.random.default_rng(0)
  a = rng.uniform(-1, 1, (1, 24, 24, 3)).astype(np.float32)
  b = a.copy()
  b[..., 0] = -a[..., 0]  # anti-correlated channel: negative SSIM
  ssim = _reference_ssim((a[0] + 1) / 2, (b[0] + 1) / 2, 11)
  assert ssim[0] < 0
  expected = np.mean((a - b) ** 2) + 1 - np.mean(np.maximum(ssim, 0))
  np.testing.assert_allclose(float(sj.sinir_loss(a, b)), expected, atol=1e-5)


def test_window_shrinks_below_eleven_pixels():
  rng = np.random.default_rng(1)
  a = rng.uniform(-1, 1, (1, 8, 14, 3)).astype(np.float32)
  b = np.clip(a + 0.3 * rng.standard_normal(a.shape), -1, 1).astype(np.float32)
  assert losses.ssim_window(8, 14) == 7 and losses.ssim_window(6, 9) == 5
  ssim = _reference_ssim((a[0] + 1) / 2, (b[0] + 1) / 2, 7)
  expected = np.mean((a - b) ** 2) + 1 - np.mean(np.maximum(ssim, 0))
  np.testing.assert_allclose(float(sj.sinir_loss(a, b)), expected, atol=1e-5)
  # dm_pix with its default 11 window gives a different (wrong) value on this image.
  wrong = dm_pix.ssim((a + 1) / 2, (b + 1) / 2, filter_size=11)
  assert abs(float(jnp.mean(wrong)) - ssim.mean()) > 1e-3


def test_identical_images_zero_loss_and_jit_compiles_once():
  traces = []

  @jax.jit
  def loss_fn(p, t):
    traces.append(1)
    return sj.sinir_loss(p, t)

  x = jax.random.uniform(jax.random.key(0), (2, 16, 20, 3), minval=-1, maxval=1)
  assert abs(float(loss_fn(x, x))) < 1e-6
  loss_fn(x * 0.5, x)
  loss_fn(-x, x)
  assert len(traces) == 1
  assert float(jax.grad(lambda p: sj.sinir_loss(p, x))(x * 0.5).std()) > 0
