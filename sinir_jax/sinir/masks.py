"""Masks of the edit and harmonization tasks (spec section 6)."""
import numpy as np
from scipy import ndimage

from sinir_jax.core.errors import InputError

DILATION = {"edit": 7, "harmonization": 20}  # disk radius in pixels
BLUR_SIGMA = 5.0


def _disk(radius):
  yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
  return xx * xx + yy * yy <= radius * radius


def prepare_mask(mask, task, size):
  """A soft blending mask in [0, 1] of shape (h, w, 1) from a user's mask image.

  Args:
    mask: (H, W) or (H, W, C) image in [-1, 1] (as ``load_image`` returns it); pixels brighter
      than mid-grey mark the region to change.
    task: "edit" (dilation radius 7) or "harmonization" (radius 20).
    size: (h, w) of the image it blends; a mask of another size is resized (nearest) first.

  The binary mask is dilated by a disk, blurred (Gaussian, sigma 5) and min-max normalised, so it
  is exactly 0 away from the marked region (there the result is exactly the input).
  """
  if task not in DILATION:
    raise InputError(f"unknown mask task {task!r}: use edit or harmonization")
  mask = np.asarray(mask, np.float32)
  if mask.ndim == 3:
    mask = mask.mean(axis=-1)
  binary = mask > 0
  if not binary.any():
    raise InputError("the mask has no white pixel: paint the region to change in white "
                            "on black")
  if binary.shape != tuple(size):
    rows = np.arange(size[0]) * binary.shape[0] // size[0]
    cols = np.arange(size[1]) * binary.shape[1] // size[1]
    binary = binary[rows][:, cols]
  dilated = ndimage.binary_dilation(binary, structure=_disk(DILATION[task]))
  soft = ndimage.gaussian_filter(dilated.astype(np.float64), BLUR_SIGMA, mode="nearest")
  soft = (soft - soft.min()) / max(soft.max() - soft.min(), 1e-12)
  return soft.astype(np.float32)[..., None]


def blend(image, result, soft_mask):
  """``(1 - m) * image + m * result``: exactly ``image`` where the mask is 0."""
  return (1 - soft_mask) * image + soft_mask * result
