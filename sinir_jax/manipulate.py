"""Manipulation results as files: each entry scale's PNG, masked variants and a labelled grid."""
import os

import numpy as np

from sinir_jax import io as io_lib
from sinir_jax import masks
from sinir_jax import resampling
from sinir_jax import visualize


def fresh_dir(path):
  """``path``, or ``path_2``, ``path_3``... whichever does not exist yet."""
  candidate, n = path, 1
  while os.path.exists(candidate):
    n += 1
    candidate = f"{path}_{n}"
  return candidate


def write_manipulations(model, input_path, output_dir, *, entry_scale="all", mask_path=None,
                        task=None, img_shape=None, use_last_net_only=False, sr_factor=None,
                        report=print):
  """Manipulates the image at ``input_path`` with ``model`` and writes what a person looks at.

  Writes ``input.png``, ``entry_K.png`` per entry scale K (``entry_K_masked.png`` too with a
  mask), or ``sr_xF.png`` with ``sr_factor``, and ``grid.png`` (input and every result,
  labelled). Returns the paths written.
  """
  if (mask_path is None) != (task is None):
    raise io_lib.InputError("a mask needs a task and a task needs a mask: pass both --mask=PATH "
                            "and --task=edit|harmonization")
  if sr_factor is not None and (mask_path is not None or entry_scale != "all"):
    raise io_lib.InputError("--sr_factor runs the super-resolution recipe (entry 0, finest net "
                            "only): drop --mask and --entry_scale")
  image = io_lib.load_image(input_path)
  os.makedirs(output_dir, exist_ok=True)
  written = []

  def save(name, array):
    path = os.path.join(output_dir, name)
    io_lib.save_image(path, np.asarray(array))
    written.append(path)

  if sr_factor is not None:
    result = np.asarray(model.super_resolve(image, sr_factor))
    upsampled = np.asarray(resampling.resize(image, result.shape[:2], model.config.interp))
    save("input.png", image)
    save(f"sr_x{sr_factor:g}.png", result)
    save("grid.png", visualize.grid([upsampled, result],
                                    ["bicubic", f"SinIR x{sr_factor:g}"]))
    report_paths(written, report)
    return written

  entries = (list(range(model.num_scales)) if entry_scale == "all"
             else [model.entry_index(entry_scale)])
  finest = np.asarray(model.pyramid(image, img_shape)[-1])
  results = [np.asarray(r) for r in model.manipulate_all(
      image, use_last_net_only=use_last_net_only, img_shape=img_shape)]
  results = [results[k] for k in entries]
  save("input.png", finest)
  tiles, labels = [finest], ["input"]
  for k, result in zip(entries, results):
    save(f"entry_{k}.png", result)
    tiles.append(result)
    labels.append(f"entry {k}")
  if mask_path is not None:
    mask_image = io_lib.load_image(mask_path)
    if mask_image.shape[:2] != finest.shape[:2]:
      report(f"note: the mask is {mask_image.shape[0]}x{mask_image.shape[1]}, the image "
             f"{finest.shape[0]}x{finest.shape[1]}: resizing the mask to the image")
    soft = masks.prepare_mask(mask_image, task, finest.shape[:2])
    tiles.append(soft * 2 - 1)
    labels.append(f"{task} mask")
    for k, result in zip(entries, results):
      blended = masks.blend(finest, result, soft)
      save(f"entry_{k}_masked.png", blended)
      tiles.append(blended)
      labels.append(f"entry {k} masked")
  save("grid.png", visualize.grid(tiles, labels, columns=len(entries) + 1))
  report_paths(written, report)
  return written


def report_paths(paths, report):
  report(f"wrote {len(paths)} images to {os.path.dirname(paths[0])}:")
  for path in paths:
    report(f"  {path}")
