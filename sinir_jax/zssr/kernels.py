"""Downscaling kernels: MATLAB bicubic, or a given kernel (a ``.npy`` array, or the ``.mat``
KernelGAN writes), and the down/up-scaling ZSSR trains and back-projects with.

A given kernel k is used as the official code uses it: shifted once (``shift_kernel``) so that
LR pixel m lands on the centre of its HR block, as in bicubic's geometry; downscaling is then a
correlation with it (half-sample symmetric borders) followed by keeping every factor-th pixel
from the first. Upscaling is always MATLAB bicubic. All on images with values 0..1.
"""
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import scipy.io
import scipy.ndimage

from sinir_jax.core import resampling
from sinir_jax.core.errors import InputError

_MAX_SIDE = 64
_SUM_TOLERANCE = 1e-2


def load_kernel(path):
  """The 2-D kernel stored at ``path`` (.npy, or .mat with a 'Kernel' array), as float64.

  Raises InputError (naming --kernel) for a missing, unreadable, non-2-D, non-finite or
  non-normalised kernel (its sum must be 1 within 1 %).
  """
  what = f"--kernel {os.fspath(path)!r}"
  try:
    if str(path).lower().endswith(".mat"):
      data = scipy.io.loadmat(path)
      arrays = {k: v for k, v in data.items() if not k.startswith("__")}
      kernel = arrays.get("Kernel", next(iter(arrays.values())) if len(arrays) == 1 else None)
      if kernel is None:
        raise InputError(f"{what} holds no 'Kernel' array: save it as KernelGAN does")
    else:
      kernel = np.load(path, allow_pickle=False)
  except InputError:
    raise
  except FileNotFoundError:
    raise InputError(f"{what}: no such file: check the path") from None
  except Exception as e:  # pylint: disable=broad-except  (numpy/scipy fail in many ways)
    raise InputError(f"{what} is unreadable ({type(e).__name__}): pass a .npy array or "
                     f"KernelGAN's .mat") from None
  kernel = np.asarray(kernel)
  if kernel.ndim != 2 or not 1 <= min(kernel.shape) <= max(kernel.shape) <= _MAX_SIDE or (
      not np.issubdtype(kernel.dtype, np.number)):
    raise InputError(f"{what} must be a 2-D numeric array of at most {_MAX_SIDE}x{_MAX_SIDE}, "
                     f"got shape {kernel.shape}")
  kernel = kernel.astype(np.float64)
  if not np.isfinite(kernel).all():
    raise InputError(f"{what} has NaN or infinite values")
  if abs(kernel.sum() - 1) > _SUM_TOLERANCE:
    raise InputError(f"{what} is not normalised: its values sum to {kernel.sum():.4g}, not 1")
  return kernel


def shift_kernel(kernel, factor):
  """The kernel moved (cubic spline) so that its centre of mass lies at
  ``K // 2 + (factor - K % 2) / 2`` per axis, zero-padded first (a 9x9 kernel becomes 13x13 for
  x2); as the official ``kernel_shift``."""
  kernel = np.asarray(kernel, np.float64)
  com = np.array(scipy.ndimage.center_of_mass(kernel))
  target = np.array(kernel.shape) // 2 + 0.5 * (factor - np.array(kernel.shape) % 2)
  pad = int(math.ceil(np.max(np.abs(target - com)))) + 1
  kernel = np.pad(kernel, pad)
  return scipy.ndimage.shift(kernel, target - com)


def _keep(size, out):
  """The indices kept when ``size`` samples are subsampled to ``out``."""
  return np.round(np.linspace(0, size - size / out, out)).astype(np.int32)


def downscale(x, size, kernel=None):
  """``x`` ((H, W, C) or (N, H, W, C), 0..1) downscaled to ``size`` (h, w): MATLAB bicubic, or
  correlation with the (already shifted) ``kernel`` (an array, traced or not) and subsampling.
  jit-able."""
  if kernel is None:
    return resampling.resize(x, size, "matlab")
  x = jnp.asarray(x)
  batched = x.ndim == 4
  x = x if batched else x[None]
  kh, kw = kernel.shape
  padded = jnp.pad(x, ((0, 0), (kh // 2, kh - 1 - kh // 2), (kw // 2, kw - 1 - kw // 2),
                       (0, 0)), mode="symmetric")
  channels = x.shape[-1]
  weights = jnp.tile(jnp.asarray(kernel, x.dtype)[:, :, None, None], (1, 1, 1, channels))
  blurred = _depthwise(padded, weights, channels)
  out = blurred[:, _keep(x.shape[1], size[0])][:, :, _keep(x.shape[2], size[1])]
  return out if batched else out[0]


def _depthwise(x, weights, channels):
  """Depthwise VALID correlation of NHWC ``x`` with HWIO ``weights`` (one filter a channel)."""
  return jax.lax.conv_general_dilated(x, weights, (1, 1), "VALID",
                                      dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                      feature_group_count=channels,
                                      precision=jax.lax.Precision.HIGHEST)


def upscale(x, size):
  """MATLAB bicubic upscaling of ``x`` to ``size`` (h, w)."""
  return resampling.resize(x, size, "matlab")


def out_size(shape, factor):
  """The (h, w) an (h, w) image takes at a (vertical, horizontal) factor: ceil of the product."""
  return (int(math.ceil(shape[0] * factor[0] - 1e-9)), int(math.ceil(shape[1] * factor[1] - 1e-9)))
