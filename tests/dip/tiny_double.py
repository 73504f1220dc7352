"""The tiny Double-DIP setting the Double-DIP tests share (in-process and CLI alike, so the
session's compilation cache holds each task's programs once): 1-level nets of 4 channels on
16x20 images, 4 steps a phase, one watermark run."""
import numpy as np

from sinir_jax.dip.double import DoubleDIPConfig
from conftest import smooth_image

TINY = DoubleDIPConfig(iters=4, iters2=4, log_every=2, input_depth=2, repeats=1,
                       net_down=(4,), net_up=(4,), net_skip=(2,), filter_size=3,
                       guided_radius=3)
SIZE = (16, 20)


def tiny_flags():
  return [f for f in TINY.to_flags() if not f.startswith("--task=")]


def layers():
  return smooth_image(*SIZE, seed=1), smooth_image(*SIZE, seed=2)


def trimap():
  tri = np.full(SIZE, 0.5, np.float32)
  tri[5:11, 6:14] = 1
  tri[:2], tri[-2:] = 0, 0
  return tri


def box():
  hint = np.zeros(SIZE, np.float32)
  hint[4:10, 5:13] = 1
  return hint
