"""Tests for sinir_jax.io: every accepted format, every refused input, atomic save."""
import os
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from sinir_jax.core import images as io
from sinir_jax.core.errors import InputError
from sinir_jax.core.images import load_image, save_image


def _png(path, arr, color_type, depth, width=None, height=None, idat=None):
  """Writes a PNG by hand: 16-bit RGB (Pillow cannot write it) or a header-only fake."""
  h, w = arr.shape[:2]
  dtype = ">u2" if depth == 16 else "u1"
  raw = b"".join(b"\x00" + arr[i].astype(dtype).tobytes() for i in range(h))

  def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

  header = struct.pack(">IIBBBBB", width or w, height or h, depth, color_type, 0, 0, 0)
  data = zlib.compress(raw) if idat is None else idat
  with open(path, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
            + chunk(b"IEND", b""))
  return path


def _refused(path, **kwargs):
  """Loads ``path`` expecting InputError with a one-line message and no warning."""
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with pytest.raises(InputError) as err:
      load_image(path, **kwargs)
  assert not caught, [str(w.message) for w in caught]
  msg = str(err.value)
  assert msg and "\n" not in msg
  return msg


def _loaded(path, shape, **kwargs):
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    x = load_image(path, **kwargs)
  assert not caught, [str(w.message) for w in caught]
  assert x.shape == shape
  assert x.dtype == np.float32
  assert -1 <= x.min() and x.max() <= 1
  return x


def _to_unit(v, scale=255):
  return np.float32(v) / np.float32(scale) * 2 - 1


@pytest.fixture
def rgb_png(tmp_path):
  rng = np.random.default_rng(0)
  arr = rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)
  arr[0, :, 0] = np.arange(16)  # a few exact extremes for the round trip
  arr[0, 0] = (0, 128, 255)
  path = tmp_path / "rgb.png"
  Image.fromarray(arr).save(path)
  return path, arr


# Refused inputs.


def test_missing_path(tmp_path):
  assert "no such file" in _refused(tmp_path / "nope.png")


def test_directory(tmp_path):
  assert "directory" in _refused(tmp_path)


def test_text_file(tmp_path):
  path = tmp_path / "notes.png"
  path.write_text("this is not an image\n")
  assert "not an image" in _refused(path)


def test_zero_byte_file(tmp_path):
  path = tmp_path / "empty.png"
  path.write_bytes(b"")
  assert "0 bytes" in _refused(path)


def test_truncated_png(tmp_path, rgb_png):
  data = rgb_png[0].read_bytes()
  path = tmp_path / "cut.png"
  path.write_bytes(data[:len(data) // 2])
  assert "corrupt" in _refused(path)


def test_truncated_jpeg(tmp_path):
  src = tmp_path / "full.jpg"
  Image.new("RGB", (64, 64), (10, 200, 30)).save(src, quality=90)
  data = src.read_bytes()
  path = tmp_path / "cut.jpg"
  path.write_bytes(data[:len(data) // 2])
  assert "corrupt" in _refused(path)


def test_corrupt_png_data(tmp_path):
  path = _png(tmp_path / "bad.png", np.zeros((4, 4, 3)), 2, 8, idat=b"definitely not zlib")
  assert "corrupt" in _refused(path)


def test_over_max_pixels(rgb_png):
  assert "max_pixels" in _refused(rgb_png[0], max_pixels=100)


@pytest.mark.parametrize("side", [8000, 10_000, 20_000])
def test_decompression_bomb_header_only(tmp_path, side):
  # 64 MP (over MAX_PIXELS), 100 MP (Pillow warns), 400 MP (Pillow raises). The pixel data is
  # garbage, so the error has to come from the header.
  path = _png(tmp_path / "bomb.png", np.zeros((1, 1, 3)), 2, 8, width=side, height=side,
              idat=b"garbage")
  assert "pixels" in _refused(path)


def test_pillow_bomb_warning_silenced(tmp_path):
  # 100 MP is allowed here, so Pillow's warning fires and the garbage data fails to decode.
  path = _png(tmp_path / "bomb.png", np.zeros((1, 1, 3)), 2, 8, width=10_000, height=10_000,
              idat=b"garbage")
  assert "corrupt" in _refused(path, max_pixels=150_000_000)


def test_pillow_limit_untouched(tmp_path):
  limit = Image.MAX_IMAGE_PIXELS
  _refused(_png(tmp_path / "bomb.png", np.zeros((1, 1, 3)), 2, 8, width=20_000, height=20_000))
  assert Image.MAX_IMAGE_PIXELS == limit


def test_unsupported_mode(tmp_path):
  path = tmp_path / "float.tif"
  Image.fromarray(np.zeros((4, 4), np.float32)).save(path)
  assert "'F'" in _refused(path)


def test_bad_interp(rgb_png):
  assert "interp" in _refused(rgb_png[0], interp="bilinear")


@pytest.mark.parametrize("img_shape", [0, (0, 5), "big", (1, 2, 3)])
def test_bad_img_shape(rgb_png, img_shape):
  assert "img_shape" in _refused(rgb_png[0], img_shape=img_shape)


# Accepted formats.


def test_rgb_png_values(rgb_png):
  path, arr = rgb_png
  x = _loaded(path, (12, 16, 3))
  np.testing.assert_array_equal(x, _to_unit(arr))
  assert x[0, 0, 0] == -1 and x[0, 0, 2] == 1


def test_greyscale_keeps_one_channel(tmp_path):
  arr = np.arange(20, dtype=np.uint8).reshape(4, 5) * 12
  Image.fromarray(arr).save(tmp_path / "l.png")
  x = _loaded(tmp_path / "l.png", (4, 5, 1))
  np.testing.assert_array_equal(x[..., 0], _to_unit(arr))


def test_one_bit(tmp_path):
  im = Image.new("1", (6, 3), 0)
  im.putpixel((2, 1), 1)
  im.save(tmp_path / "bit.png")
  x = _loaded(tmp_path / "bit.png", (3, 6, 1))
  assert x[1, 2, 0] == 1
  assert (x == 1).sum() == 1 and (x == -1).sum() == 17


def test_rgba_composited_over_white(tmp_path):
  im = Image.new("RGBA", (3, 2), (0, 0, 0, 0))
  im.putpixel((1, 0), (255, 0, 0, 128))
  im.putpixel((2, 1), (10, 20, 30, 255))
  im.save(tmp_path / "rgba.png")
  x = _loaded(tmp_path / "rgba.png", (2, 3, 3))
  a = 128 / 255
  np.testing.assert_allclose(x[0, 1], [1, 1 - 2 * a, 1 - 2 * a], atol=1e-6)
  np.testing.assert_allclose(x[1, 2], _to_unit([10, 20, 30]), atol=1e-6)
  np.testing.assert_array_equal(x[0, 0], [1, 1, 1])  # fully transparent -> white


def test_la_composited_to_one_channel(tmp_path):
  im = Image.new("LA", (2, 1))
  im.putpixel((0, 0), (0, 0))
  im.putpixel((1, 0), (100, 255))
  im.save(tmp_path / "la.png")
  x = _loaded(tmp_path / "la.png", (1, 2, 1))
  np.testing.assert_allclose(x[0, :, 0], [1, _to_unit(100)], atol=1e-6)


def _palette_image():
  im = Image.new("P", (2, 2))
  im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
  im.putdata([0, 1, 2, 1])
  return im


def test_palette(tmp_path):
  _palette_image().save(tmp_path / "p.png")
  x = _loaded(tmp_path / "p.png", (2, 2, 3))
  np.testing.assert_array_equal(x[0, 0], [1, -1, -1])
  np.testing.assert_array_equal(x[1, 0], [-1, -1, 1])


def test_palette_with_transparency(tmp_path):
  _palette_image().save(tmp_path / "pt.png", transparency=1)
  x = _loaded(tmp_path / "pt.png", (2, 2, 3))
  np.testing.assert_array_equal(x[0, 0], [1, -1, -1])
  np.testing.assert_array_equal(x[0, 1], [1, 1, 1])  # index 1 is transparent -> white


def test_palette_gif(tmp_path):
  _palette_image().save(tmp_path / "p.gif")
  x = _loaded(tmp_path / "p.gif", (2, 2, 3))
  np.testing.assert_array_equal(x[1, 0], [-1, -1, 1])


def test_16bit_greyscale_keeps_precision(tmp_path):
  arr = np.array([[0, 1, 2], [300, 40000, 65535]], np.uint16)
  Image.fromarray(arr).save(tmp_path / "g16.png")
  x = _loaded(tmp_path / "g16.png", (2, 3, 1))
  np.testing.assert_allclose(x[..., 0], arr / 65535 * 2 - 1, atol=1e-6)
  assert x[0, 0, 0] < x[0, 1, 0] < x[0, 2, 0]  # steps of 1/65535 survive


def test_16bit_rgb_loads_at_8bit(tmp_path):
  arr = np.array([[[1, 300, 65535], [40000, 2, 65280]]], np.uint16)
  path = _png(tmp_path / "rgb16.png", arr, 2, 16)
  x = _loaded(path, (1, 2, 3))
  np.testing.assert_array_equal(x, _to_unit(arr >> 8))  # Pillow keeps the high byte


def test_cmyk_jpeg(tmp_path):
  Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=100)
  x = _loaded(tmp_path / "cmyk.jpg", (16, 16, 3))
  np.testing.assert_allclose(x[8, 8], [1, -1, -1], atol=0.05)


def test_exif_orientation_6(tmp_path):
  arr = np.zeros((10, 20, 3), np.uint8)
  arr[:5, :10] = (255, 0, 0)  # red top-left quadrant
  exif = Image.Exif()
  exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to display
  Image.fromarray(arr).save(tmp_path / "rot.jpg", exif=exif, quality=100, subsampling=0)
  x = _loaded(tmp_path / "rot.jpg", (20, 10, 3))
  np.testing.assert_allclose(x[0, -1], [1, -1, -1], atol=0.05)  # top-left went top-right
  np.testing.assert_allclose(x[0, 0], [-1, -1, -1], atol=0.05)
  np.testing.assert_allclose(x[-1, -1], [-1, -1, -1], atol=0.05)


def test_img_shape_int_keeps_aspect(rgb_png):
  _loaded(rgb_png[0], (6, 8, 3), img_shape=8)
  _loaded(rgb_png[0], (6, 8, 3), img_shape=8, interp="matlab")


def test_img_shape_pair(tmp_path):
  Image.new("RGB", (16, 12), (255, 0, 128)).save(tmp_path / "c.png")
  x = _loaded(tmp_path / "c.png", (5, 7, 3), img_shape=(5, 7))
  np.testing.assert_allclose(x, np.broadcast_to(_to_unit([255, 0, 128]), x.shape), atol=1e-5)


def test_default_image():
  x = _loaded(io.DEFAULT_IMAGE, (171, 256, 3))
  assert x.std() > 0.1
  assert os.path.getsize(io.DEFAULT_IMAGE) < 300_000


# Saving.


def test_round_trip_byte_exact(tmp_path, rgb_png):
  path, arr = rgb_png
  save_image(tmp_path / "out.png", load_image(path))
  np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.png")), arr)
  assert (tmp_path / "out.png").read_bytes() == path.read_bytes()


def test_round_trip_every_level(tmp_path):
  arr = np.arange(256, dtype=np.uint8).reshape(16, 16)
  Image.fromarray(arr).save(tmp_path / "l.png")
  save_image(tmp_path / "out.png", load_image(tmp_path / "l.png"))
  np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.png")), arr)


def test_save_clips_and_accepts_2d(tmp_path):
  save_image(tmp_path / "g.png", np.array([[-3.0, 0.0, 7.0]]))
  im = Image.open(tmp_path / "g.png")
  assert im.mode == "L"
  np.testing.assert_array_equal(np.asarray(im), [[0, 128, 255]])


def test_save_jpeg_and_creates_dirs(tmp_path):
  path = tmp_path / "a" / "b" / "x.jpg"
  save_image(path, np.zeros((8, 8, 3), np.float32))
  assert Image.open(path).format == "JPEG"
  _loaded(path, (8, 8, 3))


def test_save_leaves_no_temp_files(tmp_path):
  save_image(tmp_path / "x.png", np.zeros((4, 4, 3)))
  save_image(tmp_path / "x.png", np.ones((4, 4, 3)))
  assert os.listdir(tmp_path) == ["x.png"]


@pytest.mark.parametrize("array, ext", [(np.zeros((4, 4, 2)), ".png"), (np.zeros(4), ".png"),
                                        (np.full((2, 2), np.nan), ".png"),
                                        (np.zeros((2, 2)), ".xyz")])
def test_save_refuses_bad_input(tmp_path, array, ext):
  with pytest.raises(InputError) as err:
    save_image(tmp_path / f"x{ext}", array)
  assert "\n" not in str(err.value)
  assert os.listdir(tmp_path) == []


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
  path = tmp_path / "x.png"
  save_image(path, np.zeros((4, 4, 3)))
  old = path.read_bytes()

  def half_write(self, fp, *args, **kwargs):
    fp.write(b"\x89PNG partial")
    raise OSError("No space left on device")

  monkeypatch.setattr(Image.Image, "save", half_write)
  with pytest.raises(OSError, match="No space"):
    save_image(path, np.ones((4, 4, 3)))
  assert path.read_bytes() == old
  assert os.listdir(tmp_path) == ["x.png"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_unwritable_dir_keeps_old_file(tmp_path):
  path = tmp_path / "x.png"
  save_image(path, np.zeros((4, 4, 3)))
  old = path.read_bytes()
  tmp_path.chmod(0o555)
  try:
    with pytest.raises(OSError):
      save_image(path, np.ones((4, 4, 3)))
  finally:
    tmp_path.chmod(0o755)
  assert path.read_bytes() == old
  assert os.listdir(tmp_path) == ["x.png"]


def test_parent_is_a_file(tmp_path):
  (tmp_path / "f").write_bytes(b"x")
  with pytest.raises(OSError):
    save_image(tmp_path / "f" / "x.png", np.zeros((2, 2)))
