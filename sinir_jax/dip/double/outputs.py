"""The files of a Double-DIP result, under fixed names in one folder:

  segment    mask.png, foreground.png, background.png
  separate   layer1.png, layer2.png (and separate_single)
  dehaze     dehazed.png, transmission.png (and dehazed_pass1.png after two passes)
  watermark  clean.png
  all        grid.png (the inputs and results, labelled), loss.png (loss and PSNR per step),
             result.json (the config, the task's numbers: recomposition PSNR, alphas,
             airlight; seconds)
"""
import dataclasses

import numpy as np

from sinir_jax.core import files
from sinir_jax.core import grids
from sinir_jax.core import images
from sinir_jax.core import plots

NAMES = {"segment": ("mask.png", "foreground.png", "background.png"),
         "separate": ("layer1.png", "layer2.png"),
         "dehaze": ("dehazed.png", "transmission.png"),
         "watermark": ("clean.png",),
         "separate_single": ("layer1.png", "layer2.png")}


def _map(x):
  """(H, W) in [0, 1] -> (H, W, 1) in [-1, 1]."""
  return np.asarray(x, np.float32)[..., None] * 2 - 1


def pictures(task, result):
  """[(file name or None for the grid alone, label, (H, W, C) image in [-1, 1])]."""
  if task == "segment":
    return [("mask.png", "mask", _map(result.mask)),
            ("foreground.png", "foreground layer", result.foreground),
            ("background.png", "background layer", result.background)]
  if task == "separate_single":
    return [("layer1.png", "layer 1", result.layer1), ("layer2.png", "layer 2", result.layer2)]
  if task == "separate":
    return [("layer1.png", f"layer 1 (alphas {result.alphas[0]:.2f}, {result.alphas[1]:.2f})",
             result.layer1), ("layer2.png", "layer 2", result.layer2)]
  if task == "dehaze":
    first = ([("dehazed_pass1.png", "after pass 1", result.first_pass)]
             if result.config.dehaze_passes == 2 else [])
    return [("dehazed.png", "dehazed", result.dehazed),
            ("transmission.png", "transmission", _map(result.transmission))] + first
  return [("clean.png", "clean", result.clean), (None, "watermark mask", _map(result.mask))]


def loss_figure(history, title):
  steps = range(1, len(history["loss"]) + 1)
  figure = plots.curves({"loss": (steps, history["loss"])}, title=title,
                        xlabel="step (all phases and runs)", ylabel="loss", log_y=True)
  psnr_axes = figure.axes[0].twinx()
  psnr_axes.plot(steps, history["psnr"], color="grey", linewidth=0.8, alpha=0.6)
  psnr_axes.set(ylabel="recomposition PSNR (dB, grey)")
  return figure


def write(folder, task, result, inputs, record):
  """Writes the result's files (module docstring) into ``folder``; ``inputs`` {label: image
  (H, W, C) in [-1, 1], or a hint (H, W) in [0, 1]} open the grid."""
  mine = pictures(task, result)
  for name, _, image in mine:
    if name:
      images.save_image(f"{folder}/{name}", image)
  tiles = [(label, _map(x) if np.ndim(x) == 2 else x) for label, x in inputs.items()]
  tiles += [(label, image) for _, label, image in mine]
  images.save_image(f"{folder}/grid.png", grids.grid([t[1] for t in tiles],
                                                     [t[0] for t in tiles]))
  files.write_atomic(f"{folder}/loss.png", plots.to_png(loss_figure(
      result.history, f"Double-DIP {task}")))
  files.write_json(f"{folder}/result.json", {"config": result.config.to_dict(),
                                             **numbers(result), **record})


def numbers(result):
  """The result's scalar fields ({name: float or list}): the recomposition PSNR, the alphas,
  the airlight."""
  out = {}
  for field in dataclasses.fields(result):
    value = getattr(result, field.name)
    if isinstance(value, (float, tuple)) or (isinstance(value, np.ndarray) and value.ndim == 1):
      out[field.name] = np.asarray(value, np.float64).tolist()
  return out
