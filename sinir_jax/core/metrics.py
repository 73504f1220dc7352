"""Image quality metrics for evaluating SinIR (RMSE, PSNR, SSIM, MS-SSIM, NIQE).

Inputs are single images, (H, W, 3) RGB or (H, W, 1) grey, uint8 or float, with values on 0..255
(not SinIR's [-1, 1]). Integer inputs are cast to float32, so uint8 and float inputs of the same
values give the same numbers. Pairs must have equal shapes; an image too small for a metric
raises ValueError. The JAX metrics return float32 scalars (float64 under jax_enable_x64 with
float64 inputs); ``niqe`` returns a Python float. Conventions:

- ``rmse``, ``psnr``, ``ssim`` and ``ms_ssim`` default to the SinIR paper's (RGB, no border crop)
  and are jitted JAX functions (``crop`` and ``y_only`` static) that also nest in jitted code.
  ``psnr`` and ``ssim`` take ``crop`` (pixels removed from every border) and ``y_only`` (compare
  the float luminance of ``rgb_to_y``, not rounded) for the SR literature's "Y channel, 4-pixel
  crop" numbers.
- SSIM: Gaussian window 11, sigma 1.5, 'valid' filtering, K = (0.01, 0.03), data range 255; the
  score is the mean over channels of each channel's mean SSIM map (no clamp).
- MS-SSIM (pytorch_msssim's convention): 5 levels with weights [0.0448, 0.2856, 0.3001, 0.2363,
  0.1333]; between levels 2x2 average pooling, an odd side zero-padded by one pixel at both ends
  and the padding counted in the mean (torch ``avg_pool2d(2, padding=(h % 2, w % 2))``); the mean
  contrast-structure term of levels 1-4 and the mean SSIM of level 5 are clamped at 0, raised to
  their weights and multiplied per channel, then averaged over channels.
- NIQE (Mittal et al. 2013, MATLAB's ``niqe`` with its pristine model): numpy float64 on MATLAB's
  luminance (``rgb_to_y`` rounded to integers; a grey input is rounded and used as is). See
  ``niqe`` for the details.
"""
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import scipy.ndimage
import scipy.special

from sinir_jax.core.resampling import resize

_DATA_RANGE = 255.0
_K1, _K2 = 0.01, 0.03
_WINDOW_SIZE, _WINDOW_SIGMA = 11, 1.5
_MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_NIQE_BLOCK = 96
_NIQE_PARAMS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "assets",
                            "niqe_pris_params.npz")


def rgb_to_y(x):
  """MATLAB rgb2ycbcr's luminance of RGB on 0..255: (..., 3) -> (..., 1) float, 16..235."""
  return _luma(_as_float(x))


@jax.jit
def rmse(a, b):
  """Root mean squared error over all pixels and channels of two (H, W, C) images on 0..255."""
  a, b = _check_pair(a, b, "rmse")
  return jnp.sqrt(jnp.mean(jnp.square(a - b)))


@functools.partial(jax.jit, static_argnames=("crop", "y_only"))
def psnr(a, b, crop=0, y_only=False):
  """PSNR in dB with peak 255 (inf for identical images).

  Args:
    a, b: (H, W, C) images on 0..255.
    crop: pixels removed from every border before comparing.
    y_only: compare the float luminance ``rgb_to_y`` of RGB images instead of all channels.
  """
  a, b = _prepare(a, b, crop, y_only, "psnr")
  mse = jnp.mean(jnp.square(a - b))
  return 10.0 * jnp.log10(_DATA_RANGE**2 / mse)


@functools.partial(jax.jit, static_argnames=("crop", "y_only"))
def ssim(a, b, crop=0, y_only=False):
  """Mean SSIM of two (H, W, C) images on 0..255, averaged over channels; 1 when identical.

  ``crop`` and ``y_only`` as in ``psnr``. Both sides must be at least 11 px after the crop.
  """
  a, b = _prepare(a, b, crop, y_only, "ssim")
  _check_min_side(a.shape, _WINDOW_SIZE, "ssim")
  return jnp.mean(_ssim_and_cs(a, b)[0])


@jax.jit
def ms_ssim(a, b):
  """MS-SSIM of two (H, W, C) images on 0..255 (module docstring); both sides at least 161 px."""
  a, b = _check_pair(a, b, "ms_ssim")
  levels = len(_MS_SSIM_WEIGHTS)
  h, w = a.shape[:2]
  for _ in range(levels - 1):
    h, w = -(-h // 2), -(-w // 2)
  if min(h, w) < _WINDOW_SIZE:
    raise ValueError(f"ms_ssim needs both sides >= {(_WINDOW_SIZE - 1) * 2**(levels - 1) + 1} px "
                     f"({levels - 1} halvings, then an {_WINDOW_SIZE} px window), got "
                     f"{a.shape[0]}x{a.shape[1]}")
  terms = []
  for level in range(levels):
    ssim_c, cs_c = _ssim_and_cs(a, b)
    if level < levels - 1:
      terms.append(jax.nn.relu(cs_c))
      a, b = _avg_pool2(a), _avg_pool2(b)
  terms.append(jax.nn.relu(ssim_c))
  weights = jnp.asarray(_MS_SSIM_WEIGHTS, a.dtype)[:, None]
  return jnp.mean(jnp.prod(jnp.stack(terms) ** weights, axis=0))


def niqe(img):
  """NIQE of one image (lower is more natural); numpy, float64, not jit-able.

  MATLAB's ``niqe`` with its default pristine model (``assets/niqe_pris_params.npz``, from
  BasicSR): luminance (``rgb_to_y`` in float64) rounded to integers, ties to even; cropped to
  whole 96x96 blocks; at two scales (the second made by MATLAB bicubic ``imresize`` by 0.5,
  blocks 48x48), MSCN coefficients with the model's 7x7 Gaussian window (edge-replicated) and
  per block 18 AGGD features (the coefficients and their products with the four circularly
  shifted neighbours); the features' mean (NaN-ignoring) and covariance (of NaN-free blocks;
  zero for a single block) are compared with the model:
  sqrt((mu_p - mu_d)^T pinv((cov_p + cov_d) / 2) (mu_p - mu_d)).

  Args:
    img: (H, W, 3) RGB or (H, W, 1) luminance on 0..255, both sides at least 96 px.

  Returns:
    A Python float; NaN when no block has finite features (e.g. a flat image).
  """
  img = np.asarray(img, np.float64)
  _check_shape(img.shape, "niqe")
  y = _luma(img) if img.shape[-1] == 3 else img
  y = np.round(y[..., 0])  # ties to even like BasicSR (and the golden values); MATLAB: away from 0
  _check_min_side(y.shape, _NIQE_BLOCK, "niqe")
  params = _niqe_params()
  rows, cols = (s // _NIQE_BLOCK * _NIQE_BLOCK for s in y.shape)
  y = y[:rows, :cols]
  half = np.asarray(resize(y[..., None], (rows // 2, cols // 2), method="matlab"), np.float64)
  feats = np.concatenate([
      _niqe_block_features(_mscn(y, params["gaussian_window"]), _NIQE_BLOCK),
      _niqe_block_features(_mscn(half[..., 0], params["gaussian_window"]), _NIQE_BLOCK // 2),
  ], axis=1)
  finite = feats[np.isfinite(feats).all(axis=1)]
  if not len(finite):
    return float("nan")
  mu_d = np.nanmean(feats, axis=0)
  cov_d = np.cov(finite, rowvar=False) if len(finite) > 1 else np.zeros((feats.shape[1],) * 2)
  diff = params["mu_pris_param"][0] - mu_d
  dist = diff @ np.linalg.pinv((params["cov_pris_param"] + cov_d) / 2) @ diff
  return float(np.sqrt(dist))


def _as_float(x):
  x = jnp.asarray(x)
  return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def _luma(x):
  """rgb_to_y on a float numpy or JAX array, computed in its dtype."""
  return 16.0 + (x @ np.asarray([65.481, 128.553, 24.966], x.dtype))[..., None] / 255.0


def _check_shape(shape, name):
  if len(shape) != 3 or shape[-1] not in (1, 3):
    raise ValueError(f"{name} expects an (H, W, 3) or (H, W, 1) image, got shape {shape}")


def _check_image(x, name):
  x = _as_float(x)
  _check_shape(x.shape, name)
  return x


def _check_pair(a, b, name):
  a, b = _check_image(a, name), _check_image(b, name)
  if a.shape != b.shape:
    raise ValueError(f"{name} needs images of equal shape, got {a.shape} and {b.shape}")
  return a, b


def _check_min_side(shape, size, name):
  if min(shape[:2]) < size:
    raise ValueError(f"{name} needs both sides >= {size} px, got {shape[0]}x{shape[1]}")


def _prepare(a, b, crop, y_only, name):
  """Checked float pair, border-cropped and reduced to luminance if asked."""
  a, b = _check_pair(a, b, name)
  h, w = a.shape[:2]
  if crop < 0 or 2 * crop >= min(h, w):
    raise ValueError(f"{name}: crop {crop} does not fit a {h}x{w} image")
  a, b = a[crop:h - crop, crop:w - crop], b[crop:h - crop, crop:w - crop]
  if y_only:
    if a.shape[-1] != 3:
      raise ValueError(f"{name}: y_only needs RGB images, got {a.shape[-1]} channel(s)")
    a, b = rgb_to_y(a), rgb_to_y(b)
  return a, b


@functools.lru_cache(maxsize=None)
def _gaussian_window():
  """Normalised 1-D Gaussian (11 taps, sigma 1.5); its outer product is the 2-D window."""
  x = np.arange(_WINDOW_SIZE) - _WINDOW_SIZE // 2
  g = np.exp(-x**2 / (2 * _WINDOW_SIGMA**2))
  return g / g.sum()


def _gaussian_filter(x):
  """Separable 'valid' Gaussian filtering of (H, W, C): -> (H - 10, W - 10, C)."""
  g = _gaussian_window()
  n, (h, w) = len(g), x.shape[:2]
  x = sum(float(g[k]) * x[k:h - n + 1 + k] for k in range(n))
  return sum(float(g[k]) * x[:, k:w - n + 1 + k] for k in range(n))


def _ssim_and_cs(a, b):
  """Per-channel means of the SSIM and contrast-structure maps: two (C,) arrays."""
  c1, c2 = (_K1 * _DATA_RANGE)**2, (_K2 * _DATA_RANGE)**2
  moments = _gaussian_filter(jnp.concatenate([a, b, a * a, b * b, a * b], axis=-1))
  mu_a, mu_b, e_aa, e_bb, e_ab = jnp.split(moments, 5, axis=-1)
  var_a, var_b, cov = e_aa - mu_a**2, e_bb - mu_b**2, e_ab - mu_a * mu_b
  cs = (2 * cov + c2) / (var_a + var_b + c2)
  ssim_map = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1) * cs
  return ssim_map.mean(axis=(0, 1)), cs.mean(axis=(0, 1))


def _avg_pool2(x):
  """2x2 mean pooling of (H, W, C) to (ceil(H/2), ceil(W/2), C), odd sides zero-padded."""
  x = jnp.pad(x, [(s % 2, s % 2) for s in x.shape[:2]] + [(0, 0)])
  h, w = x.shape[0] // 2, x.shape[1] // 2
  return x[:2 * h, :2 * w].reshape(h, 2, w, 2, -1).mean(axis=(1, 3))


@functools.lru_cache(maxsize=None)
def _niqe_params():
  with np.load(_NIQE_PARAMS) as f:
    return {k: f[k] for k in ("mu_pris_param", "cov_pris_param", "gaussian_window")}


@functools.lru_cache(maxsize=None)
def _aggd_table():
  """MATLAB's grid of AGGD shapes 0.2:0.001:10 and the moment ratio each one gives."""
  gamma = scipy.special.gamma
  gam = np.linspace(0.2, 10.0, 9801)
  r_gam = gamma(2 / gam)**2 / (gamma(1 / gam) * gamma(3 / gam))
  return gam, r_gam


def _mscn(y, window):
  """Mean-subtracted contrast-normalised coefficients of (H, W) luminance, float64."""
  mu = scipy.ndimage.correlate(y, window, mode="nearest")
  sigma = np.sqrt(np.abs(scipy.ndimage.correlate(y * y, window, mode="nearest") - mu * mu))
  return (y - mu) / (sigma + 1)


def _aggd_fit(v):
  """Moment-matching AGGD fit of each row of (N, M): shape alpha, left and right scales, (N,) each.

  Like MATLAB, an empty side gives NaN scales (and alpha falls back to the grid's first value).
  """
  gam, r_gam = _aggd_table()
  with np.errstate(invalid="ignore", divide="ignore"):
    left = np.sqrt(np.sum(v**2 * (v < 0), axis=1) / np.sum(v < 0, axis=1))
    right = np.sqrt(np.sum(v**2 * (v > 0), axis=1) / np.sum(v > 0, axis=1))
    g = left / right
    r = np.mean(np.abs(v), axis=1)**2 / np.mean(v**2, axis=1)
    r_norm = r * (g**3 + 1) * (g + 1) / (g**2 + 1)**2
  diff = (r_gam[None, :] - r_norm[:, None])**2
  alpha = gam[np.argmin(np.where(np.isnan(diff), np.inf, diff), axis=1)]
  scale = np.sqrt(scipy.special.gamma(1 / alpha) / scipy.special.gamma(3 / alpha))
  return alpha, left * scale, right * scale


def _niqe_block_features(mscn, block):
  """The 18 NIQE features of each (block x block) tile of an (H, W) MSCN map: (tiles, 18)."""
  h, w = mscn.shape[0] // block, mscn.shape[1] // block
  tiles = mscn[:h * block, :w * block].reshape(h, block, w, block).transpose(0, 2, 1, 3)
  tiles = tiles.reshape(h * w, block, block)
  alpha, left, right = _aggd_fit(tiles.reshape(h * w, -1))
  feats = [alpha, (left + right) / 2]
  for shift in ((0, 1), (1, 0), (1, 1), (1, -1)):
    pair = tiles * np.roll(tiles, shift, axis=(1, 2))
    alpha, left, right = _aggd_fit(pair.reshape(h * w, -1))
    mean = (right - left) * scipy.special.gamma(2 / alpha) / scipy.special.gamma(1 / alpha)
    feats += [alpha, mean, left, right]
  return np.stack(feats, axis=1)
