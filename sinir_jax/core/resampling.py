"""The two resamplers of SinIR (spec section 2), as jit-able, differentiable gathers.

Each output row (and column) is a fixed weighted sum of a few input rows. The taps and weights
depend only on the input and output sizes, so they are computed once in numpy (float64) at trace
time and the resize itself is a weighted sum of gathered rows: linear in ``x``, so it
differentiates.
"""
import functools
import math

import jax.numpy as jnp
import numpy as np

METHODS = ("pytorch", "matlab")


def _cubic(x, a):
  ax = np.abs(x)
  near = ((a + 2) * ax - (a + 3)) * ax * ax + 1
  far = ((a * ax - 5 * a) * ax + 8 * a) * ax - 4 * a
  return np.where(ax <= 1, near, np.where(ax < 2, far, 0.0))


@functools.lru_cache(maxsize=None)
def _pytorch_taps(in_size, out_size):
  """torch bicubic, align_corners=True: a = -0.75, edge-replicated taps."""
  scale = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
  src = np.arange(out_size, dtype=np.float64) * scale
  base = np.floor(src)
  t = src - base
  offsets = np.arange(-1, 3)
  idx = np.clip(base[:, None] + offsets[None, :], 0, in_size - 1).astype(np.int32)
  weights = _cubic(t[:, None] - offsets[None, :], -0.75)
  return idx, weights.astype(np.float32)


@functools.lru_cache(maxsize=None)
def _matlab_taps(in_size, out_size):
  """MATLAB imresize bicubic: a = -0.5, half-pixel centres, antialiased when shrinking."""
  scale = out_size / in_size
  support = 4.0
  stretch = min(scale, 1.0)  # the kernel widens by 1/scale when downscaling
  width = support / stretch
  centre = (np.arange(out_size, dtype=np.float64) + 0.5) / scale - 0.5
  left = np.floor(centre - width / 2)
  taps = int(math.ceil(width)) + 2
  idx = left[:, None] + np.arange(taps)[None, :]
  weights = stretch * _cubic(stretch * (centre[:, None] - idx), -0.5)
  weights /= weights.sum(axis=1, keepdims=True)
  # Symmetric padding: [a b c] -> ... b a | a b c | c b ...
  period = 2 * in_size
  idx = np.mod(idx, period)
  idx = np.where(idx >= in_size, period - 1 - idx, idx).astype(np.int32)
  return idx, weights.astype(np.float32)


def _resize_axis(x, axis, out_size, method):
  in_size = x.shape[axis]
  if in_size == out_size:
    return x
  taps = _pytorch_taps if method == "pytorch" else _matlab_taps
  idx, weights = taps(in_size, out_size)
  shape = [1] * x.ndim
  shape[axis] = out_size
  # A sum of one gathered slice per tap: XLA:CPU fuses it into one loop, where gathering all
  # taps and reducing over them ran 30-45x slower (199 -> 250 px: 31 ms against 0.7 ms).
  y = 0
  for t in range(idx.shape[1]):
    y = y + jnp.take(x, jnp.asarray(idx[:, t]), axis=axis) * jnp.asarray(
        weights[:, t], x.dtype).reshape(shape)
  return y


def target_size(h, w, size):
  """(h, w) for ``size``: a pair is exact, an int is the longer side (floor, aspect kept)."""
  if isinstance(size, (int, np.integer)):
    ratio = size / max(h, w)
    return int(h * ratio), int(w * ratio)
  out_h, out_w = size
  return int(out_h), int(out_w)


def resize(x, size, method="pytorch"):
  """Resizes images with one of SinIR's two bicubic resamplers.

  Args:
    x: (H, W, C) or (N, H, W, C) float array, values in [-1, 1].
    size: (h, w), or an int giving the longer side (the other side is floored, aspect kept).
    method: "pytorch" (torch bicubic with align_corners=True, a = -0.75, then clamped to
      [-1, 1]) or "matlab" (MATLAB imresize bicubic, antialiased when downscaling, no clamp).

  Returns:
    The resized array, same rank and dtype. jit-able (sizes are static) and differentiable.
  """
  if method not in METHODS:
    raise ValueError(f"resize method must be one of {METHODS}, got {method!r}")
  x = jnp.asarray(x)
  h_axis = x.ndim - 3
  out_h, out_w = target_size(x.shape[h_axis], x.shape[h_axis + 1], size)
  y = _resize_axis(x, h_axis, out_h, method)
  y = _resize_axis(y, h_axis + 1, out_w, method)
  if method == "pytorch" and y is not x:
    y = jnp.clip(y, -1.0, 1.0)
  return y
