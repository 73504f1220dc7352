"""HR/LR image pairs of a super-resolution benchmark folder.

Pairing: an HR file and an LR file form a pair when their names agree once the extension and a
trailing tag are dropped: ``_HR`` or ``-HR`` on the HR side, ``_LR`` or ``-LR`` (any case), or
``x4`` right after a digit, on the LR side. BSD100's ``img_001_SRF_4_HR.png`` and
``img_001_SRF_4_LR.png`` pair as ``img_001_SRF_4`` (the SelfExSR layout of Set5, Set14, Urban100
too); DIV2K's ``0001.png`` and ``0001x4.png`` as ``0001``; identical names pair too. That shared
name names the image's folders. Files without a partner are left out (with a note).

Sizes: the HR image must be 4x the LR image, up to 3 extra pixels per side (an HR image whose
sides are not multiples of 4 next to an LR made from it by flooring); those extra bottom rows
and right columns are cropped from the HR image before scoring ("modcrop", the usual SR
convention), so the x4 output and the ground truth are the same size and nothing is resampled.
"""
import dataclasses
import os
import re

from sinir_jax.core import grids
from sinir_jax.core import images
from sinir_jax.core.errors import InputError

SR_FACTOR = 4
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
MS_SSIM_MIN_SIDE = 161  # metrics.ms_ssim: 4 halvings, then an 11 px window
_MODCROP_MAX = SR_FACTOR - 1
HR_TAG = re.compile(r"[_-]hr$", re.IGNORECASE)
_LR_TAG = re.compile(r"[_-]lr$|(?<=\d)x4$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Pair:
  """One benchmark image: its shared name, the paths of its HR and LR files, the LR's (h, w)."""
  name: str
  hr: str
  lr: str
  lr_size: tuple


def _image_files(directory, what):
  if not directory or not os.path.isdir(directory):
    raise InputError(f"--{what}_dir {directory!r} is not a folder: pass the folder of "
                            f"the {what.upper()} images")
  return sorted(f for f in os.listdir(directory) if not f.startswith(".")
                and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS)


def _by_key(directory, what, tag):
  """{name: path} of the images in ``directory``, names without their HR/LR tag."""
  found = {}
  for filename in _image_files(directory, what):
    stem = os.path.splitext(filename)[0]
    key = tag.sub("", stem) or stem
    if key in found:
      raise InputError(
          f"{os.path.basename(found[key])!r} and {filename!r} in --{what}_dir both name image "
          f"{key!r}: keep one")
    found[key] = os.path.join(directory, filename)
  return found


def find_pairs(hr_dir, lr_dir, limit=None, report=print):
  """The HR/LR pairs of two folders (module docstring), sorted by name, the first ``limit``.

  Raises:
    InputError: a missing folder, no pair, or a pair whose sizes are not x4 apart.
  """
  hr_files, lr_files = _by_key(hr_dir, "hr", HR_TAG), _by_key(lr_dir, "lr", _LR_TAG)
  names = sorted(set(hr_files) & set(lr_files))
  if not names:
    raise InputError(
        f"no HR/LR pairs: {len(hr_files)} image(s) in {hr_dir!r} and {len(lr_files)} in "
        f"{lr_dir!r}, none with matching names (e.g. img_001_HR.png and img_001_LR.png)")
  unpaired = len(set(hr_files) ^ set(lr_files))
  if unpaired:
    report(f"note: {unpaired} image(s) without a partner are left out")
  return [_checked_pair(name, hr_files[name], lr_files[name]) for name in names[:limit]]


def _checked_pair(name, hr_path, lr_path):
  """The Pair, or InputError unless the HR image is x4 the LR one (up to the modcrop margin)."""
  (h, w), (hh, hw) = (images.load_image(path).shape[:2] for path in (lr_path, hr_path))
  if not all(0 <= big - SR_FACTOR * small <= _MODCROP_MAX for big, small in ((hh, h), (hw, w))):
    raise InputError(
        f"{os.path.basename(hr_path)!r} is {hh}x{hw} but {os.path.basename(lr_path)!r} is "
        f"{h}x{w}: the HR image must be {SR_FACTOR}x the LR one (up to {_MODCROP_MAX} extra "
        f"pixels per side)")
  if min(h, w) * SR_FACTOR < MS_SSIM_MIN_SIDE:
    raise InputError(
        f"{os.path.basename(lr_path)!r} is {h}x{w}: MS-SSIM needs x{SR_FACTOR} outputs of at "
        f"least {MS_SSIM_MIN_SIDE} px a side, so LR images of at least "
        f"{-(-MS_SSIM_MIN_SIDE // SR_FACTOR)} px")
  return Pair(name, hr_path, lr_path, (h, w))


def load_pair(pair):
  """(LR in [-1, 1], HR as uint8 cropped to x4 the LR's size)."""
  lr = images.load_image(pair.lr)
  hr = grids.to_uint8(images.load_image(pair.hr))
  return lr, hr[:SR_FACTOR * lr.shape[0], :SR_FACTOR * lr.shape[1]]
