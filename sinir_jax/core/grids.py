"""Pictures for people: labelled grids of images of any sizes."""
import numpy as np
from PIL import Image, ImageDraw

_PAD = 6
_LABEL_HEIGHT = 14


def to_uint8(image):
  """(H, W, C) in [-1, 1] -> (H, W, 3) uint8 (grey is repeated to RGB)."""
  image = np.asarray(image, np.float32)
  if image.shape[-1] == 1:
    image = np.repeat(image, 3, axis=-1)
  return np.round((np.clip(image, -1, 1) + 1) / 2 * 255).astype(np.uint8)


def grid(images, labels=None, columns=None, min_height=256):
  """Tiles (H, W, C) images in [-1, 1] of any sizes on a white sheet, each with its label.

  Small images are enlarged by a whole factor (nearest neighbour, the same for all, so relative
  sizes stay) until the tallest is at least ``min_height`` pixels. Returns an (H, W, 3) array in
  [-1, 1], ready for ``io.save_image``.
  """
  images = [to_uint8(im) for im in images]
  zoom = -(-min_height // max(im.shape[0] for im in images))
  if zoom > 1:
    images = [im.repeat(zoom, axis=0).repeat(zoom, axis=1) for im in images]
  columns = columns or len(images)
  rows = [images[i:i + columns] for i in range(0, len(images), columns)]
  cell_w = max(im.shape[1] for im in images)
  label_h = _LABEL_HEIGHT if labels else 0
  row_heights = [max(im.shape[0] for im in row) + label_h for row in rows]
  sheet = Image.new("RGB", (_PAD + columns * (cell_w + _PAD),
                            _PAD + sum(h + _PAD for h in row_heights)), "white")
  draw = ImageDraw.Draw(sheet)
  top = _PAD
  for r, row in enumerate(rows):
    for c, im in enumerate(row):
      left = _PAD + c * (cell_w + _PAD)
      if labels:
        draw.text((left, top), str(labels[r * columns + c]), fill="black")
      sheet.paste(Image.fromarray(im), (left, top + label_h))
    top += row_heights[r] + _PAD
  return np.asarray(sheet, np.float32) / 255 * 2 - 1
