"""Reading and writing training images as float32 arrays in [-1, 1], shape (H, W, C).

``load_image`` decodes with Pillow and either returns an image or raises ``InputError`` with a
one-line message. How each kind of input is handled:

- missing path, directory, other non-regular file (FIFO, device), zero-byte file, file Pillow
  does not recognise, truncated or corrupt file: ``InputError``.
- more than ``max_pixels`` pixels: ``InputError``, decided from the header before any pixel is
  decoded. Pillow's own decompression-bomb warning is silenced (this check replaces it) and its
  hard error (above ``2 * PIL.Image.MAX_IMAGE_PIXELS``, a limit no ``max_pixels`` can lift)
  becomes ``InputError``.
- EXIF orientation is applied, so a portrait photo stored sideways comes out portrait.
- greyscale "L" and 1-bit "1" give C = 1; RGB, palette "P", "CMYK" and "YCbCr" give C = 3.
- alpha ("LA", "RGBA", "PA", palette or colour-key transparency) is composited over white and
  dropped: C = 1 for grey, 3 for colour.
- 16-bit greyscale ("I;16" PNG, TIFF) is scaled by 65535 and keeps its precision; Pillow reduces
  16-bit RGB(A) and grey+alpha PNGs to 8 bits per channel on decode, so those load at 8-bit
  precision.
- multi-frame files (GIF, TIFF): the first frame.
- other pixel modes ("I" 32-bit integer, "F" float, "LAB", "HSV"): ``InputError``.
"""
import os
import stat
import warnings

import numpy as np
from PIL import Image, ImageOps

from sinir_jax.core import files
from sinir_jax.core.errors import InputError
from sinir_jax.core.resampling import METHODS, resize, target_size

MAX_PIXELS = 50_000_000
DEFAULT_IMAGE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "assets", "default.png")

_HINT = "pass a PNG or JPEG image"
# Modes converted on load; the result must be in _SCALE.
_CONVERT = {"1": "L", "P": "RGB", "PA": "RGBA", "La": "LA", "RGBa": "RGBA", "RGBX": "RGB",
            "CMYK": "RGB", "YCbCr": "RGB"}
_SCALE = {"L": 255, "LA": 255, "RGB": 255, "RGBA": 255,
          "I;16": 65535, "I;16B": 65535, "I;16L": 65535, "I;16N": 65535}


def _one_line(err):
  text = " ".join(str(err).split())
  return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _error(path, reason, hint=_HINT):
  return InputError(f"cannot read image {path!r}: {reason}; {hint}")


def _check_file(path):
  try:
    st = os.stat(path)
  except FileNotFoundError:
    raise _error(path, "no such file", "check the path") from None
  except (OSError, ValueError) as e:  # ValueError: embedded NUL byte
    raise _error(path, getattr(e, "strerror", None) or _one_line(e), "check the path") from None
  if stat.S_ISDIR(st.st_mode):
    raise _error(path, "it is a directory", "pass the path of an image file inside it")
  if not stat.S_ISREG(st.st_mode):
    raise _error(path, "not a regular file", _HINT)
  if st.st_size == 0:
    raise _error(path, "file is empty (0 bytes)")


def _decode(path, max_pixels):
  """Pillow image in a mode of _SCALE, EXIF orientation applied, first frame only."""
  # Pillow warns about what it tolerates (corrupt EXIF, sizes above its bomb limit, which
  # max_pixels replaces); none of that should reach the user.
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
      with Image.open(path) as opened:
        w, h = opened.size
        if w * h > max_pixels:
          raise _error(path, f"image is {w}x{h} = {w * h:,} pixels, above the limit of "
                       f"{max_pixels:,}", "downscale it first or raise max_pixels")
        im = ImageOps.exif_transpose(opened)
        mode = _CONVERT.get(im.mode, im.mode)
        if mode in ("L", "RGB") and "transparency" in im.info:
          mode += "A"
        if mode not in _SCALE:
          raise _error(path, f"unsupported pixel mode {im.mode!r}",
                       "convert it to 8-bit RGB or greyscale (or 16-bit greyscale) PNG")
        return im.convert(mode) if mode != im.mode else im
    except InputError:
      raise
    except PermissionError as e:
      raise _error(path, e.strerror or "permission denied",
                   "check the file's permissions") from None
    except Image.UnidentifiedImageError:
      raise _error(path, "not an image file, or a format Pillow cannot read") from None
    except Image.DecompressionBombError as e:
      raise _error(path, f"image has too many pixels ({_one_line(e)})",
                   "downscale it first") from None
    # Pillow's decoders fail on corrupt data with many exception types (OSError, SyntaxError,
    # ValueError, struct.error, ...).
    except Exception as e:  # pylint: disable=broad-except
      raise _error(path, f"truncated or corrupt image ({_one_line(e)})") from None


def load_image(path, img_shape=None, interp="pytorch", max_pixels=MAX_PIXELS):
  """Loads an image file as a float32 array of shape (H, W, C), values in [-1, 1].

  Args:
    path: image file (str or os.PathLike); see the module docstring for what is accepted.
    img_shape: optional resize: an int (the longer side, aspect kept) or an (h, w) pair.
    interp: resampler for ``img_shape``, "pytorch" or "matlab" (see ``sinir_jax.resampling``; the
      "matlab" one is not clamped and may overshoot [-1, 1] slightly at sharp edges).
    max_pixels: images with more pixels (width * height) are refused.

  Returns:
    float32 numpy array (H, W, C), C = 1 for greyscale and 3 for colour: 8-bit values v map to
    v / 255 * 2 - 1, 16-bit ones to v / 65535 * 2 - 1.

  Raises:
    InputError: unusable path, file, image or argument (one-line message).
  """
  if interp not in METHODS:
    raise InputError(f"interp must be one of {METHODS}, got {interp!r}")
  path = os.fspath(path)
  _check_file(path)
  im = _decode(path, max_pixels)
  arr = np.asarray(im)
  if arr.ndim == 2:
    arr = arr[..., None]
  x = arr.astype(np.float32) / np.float32(_SCALE[im.mode])
  if im.mode.endswith("A"):
    alpha = x[..., -1:]
    x = x[..., :-1] * alpha + (1 - alpha)
  x = x * 2 - 1
  if img_shape is not None:
    x = _resize(x, img_shape, interp)
  return x


def _resize(x, img_shape, interp):
  ok = (isinstance(img_shape, (int, np.integer)) or
        (isinstance(img_shape, (tuple, list)) and len(img_shape) == 2))
  out = target_size(x.shape[0], x.shape[1], img_shape) if ok else (0, 0)
  if min(out) < 1:
    raise InputError(f"img_shape must be a positive int or (h, w) pair giving at least 1x1 "
                     f"pixels for this {x.shape[0]}x{x.shape[1]} image, got {img_shape!r}")
  return np.asarray(resize(x, img_shape, method=interp), dtype=np.float32)


def save_image(path, array):
  """Writes an (H, W, C) or (H, W) array in [-1, 1], C in {1, 3}, as an 8-bit image.

  Values are clipped to [-1, 1] and mapped to round((x + 1) / 2 * 255), the exact inverse of
  ``load_image`` on 8-bit images. The format follows the extension (.png, .jpg, ...). Written
  with ``files.write_atomic``: ``path`` never holds a partial image; parent folders are made.

  Raises:
    InputError: bad shape, non-finite values or unknown extension; DiskFullError (an
      InputError) when the disk is full.
    OSError: the file cannot be written (then ``path`` is left as it was).
  """
  path = os.fspath(path)
  x = np.asarray(array, dtype=np.float32)
  if x.ndim == 3 and x.shape[-1] == 1:
    x = x[..., 0]
  if not (x.ndim == 2 or (x.ndim == 3 and x.shape[-1] == 3)):
    raise InputError(f"cannot save image {path!r}: array shape {np.shape(array)} is not "
                     "(H, W), (H, W, 1) or (H, W, 3)")
  if not np.all(np.isfinite(x)):
    raise InputError(f"cannot save image {path!r}: array has NaN or inf values")
  ext = os.path.splitext(path)[1].lower()
  fmt = Image.registered_extensions().get(ext)
  if fmt is None or fmt not in Image.SAVE:
    raise InputError(f"cannot save image {path!r}: unknown image extension {ext!r}; "
                     "use .png or .jpg")
  im = Image.fromarray(np.round((np.clip(x, -1, 1) + 1) / 2 * 255).astype(np.uint8))
  files.write_atomic(path, lambda f: im.save(f, format=fmt))
