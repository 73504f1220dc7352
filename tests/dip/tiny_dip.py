"""The tiny Deep Image Prior setting every DIP test shares, so that its few step programs are
compiled once per session (in-process tests and the CLI's subprocesses alike, through the
session's compilation cache): a 2-level net of 4 channels on 15x13 images (a 16x16 net output,
so every run pads), 12 steps, backtracking and a 3-output variance window on."""
import numpy as np

from sinir_jax.dip import DIPConfig
from conftest import smooth_image

TINY = DIPConfig(net="skip", net_down=(4, 4), net_up=(4, 4), net_skip=(2, 2), input_depth=2,
                 reg_noise_std=0.05, iters=12, log_every=4, backtrack=True, es_window=3,
                 snapshot_every=0)
SIZE = (15, 13)  # the clean image
LR_SIZE = (4, 3)  # SR: x4 gives a 16x12 result


def tiny_flags(**changes):
  """TINY (with ``changes``) as command-line flags, without --task."""
  return [f for f in TINY.replace(**changes).to_flags() if not f.startswith("--task=")]


def clean():
  return smooth_image(*SIZE)


def noisy(seed=0):
  rng = np.random.default_rng(seed)
  return np.clip(clean() + 0.2 * rng.standard_normal(clean().shape), -1, 1).astype(np.float32)


def hole_mask():
  """A 15x13 mask, 1 = known, with a 5x4 hole."""
  mask = np.ones(SIZE, np.float32)
  mask[5:10, 4:8] = 0
  return mask
