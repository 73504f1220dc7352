"""Deep Image Prior's fixed operators: the Lanczos2 downsampler of its SR loss, masks from
images, and the padding that fits any image size to the network.

The downsampler is the official ``Downsampler(kernel_type='lanczos2', phase=0.5,
preserve_size=True)``: a separable kernel of 4 * factor taps (16 for x4, 32 for x8) whose taps
sit at distances ``|i + 0.5 - c| / factor`` from the centre (so +-0.125, +-0.375, ... +-1.875 for
x4), each ``L(d) = 2 sin(pi d) sin(pi d / 2) / (pi d)^2``, normalised to sum 1; the image is
replication-padded by (4 * factor - factor) / 2 pixels (6 for x4, 12 for x8) and convolved with
stride ``factor``, so an (H, W) image becomes (H / factor, W / factor) and output pixel o
covers input rows factor * o - 6 ... factor * o + 9 (x4), centred on its block of ``factor``.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

SUPPORT = 2  # Lanczos2


@functools.lru_cache(maxsize=None)
def lanczos2_taps(factor):
  """The normalised 1-D Lanczos2 kernel of ``factor`` (phase 0.5): 4 * factor float64 taps. The
  official 2-D kernel is their outer product (the official code normalises the 2-D kernel, the
  same thing for a separable one)."""
  if not isinstance(factor, int) or factor < 2:
    raise ValueError(f"factor must be an integer >= 2, got {factor!r}")
  width = 4 * factor + 1
  centre = (width + 1) / 2
  d = np.abs(np.arange(1, width) + 0.5 - centre) / factor  # never 0 at phase 0.5
  taps = SUPPORT * np.sin(np.pi * d) * np.sin(np.pi * d / SUPPORT) / (np.pi ** 2 * d ** 2)
  taps = taps / taps.sum()
  taps.flags.writeable = False  # cached: shared by every caller
  return taps


def downsample(x, factor):
  """``x`` (N, H, W, C), H and W multiples of ``factor``, Lanczos2-downsampled to (N, H /
  factor, W / factor, C) as the official SR loss does (module docstring). Separable: rows, then
  columns, each a strided depthwise conv of the replication-padded image."""
  taps = jnp.asarray(lanczos2_taps(factor), x.dtype)
  pad = (taps.shape[0] - factor) // 2
  channels = x.shape[-1]
  x = jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")
  for axis, shape in ((1, (-1, 1, 1, 1)), (2, (1, -1, 1, 1))):
    kernel = jnp.tile(taps.reshape(shape), (1, 1, 1, channels))
    strides = (factor, 1) if axis == 1 else (1, factor)
    x = jax.lax.conv_general_dilated(x, kernel, strides, "VALID",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                     feature_group_count=channels)
  return x


def mask_from_image(image):
  """The known pixels of a mask image ((H, W, C) in [-1, 1], as ``load_image`` gives): white
  (the channel mean above mid-grey) is known. Returns (H, W) float32, 1 = known, 0 = unknown."""
  image = np.asarray(image, np.float32)
  return (image.mean(axis=-1) > 0).astype(np.float32)


def round_up(value, multiple):
  return -(-value // multiple) * multiple


def centre_pad(size, padded):
  """(before, after) that centre ``size`` in ``padded`` (the extra pixel, if odd, after)."""
  before = (padded - size) // 2
  return before, padded - size - before
