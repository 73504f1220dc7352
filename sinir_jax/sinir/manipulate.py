"""Manipulation results as files: each entry scale's PNG, masked variants and a labelled grid."""
import dataclasses
import math
import os
import secrets
import shutil

import numpy as np

from sinir_jax.core import grids
from sinir_jax.core import images
from sinir_jax.core import resampling
from sinir_jax.core.errors import InputError
from sinir_jax.sinir import masks

MODEL_SIZE = "model"  # Request.img_shape: resize the input to the model's training size


@dataclasses.dataclass(frozen=True)
class Request:
  """One manipulation: what ``python -m sinir_jax.infer`` (or train's --infer_*) asks for.

  Attributes:
    input_path: the image to manipulate.
    entry_scale: an entry scale (negative counts from the finest) or "all".
    mask_path, task: a mask image and its task (edit | harmonization), both or neither.
    img_shape: first resize of the input: MODEL_SIZE (the model's training size: its longer
      side, aspect kept), None (the input's own size), an int longer side or an (h, w) pair.
    use_last_net_only: run the finest net at every scale.
    sr_factor: super-resolve by this factor instead (entry 0, finest net only, its own sizing).
    back_projection_iters: with sr_factor, back-project the result this many times.
  """
  input_path: str
  entry_scale: object = "all"
  mask_path: str = None
  task: str = None
  img_shape: object = MODEL_SIZE
  use_last_net_only: bool = False
  sr_factor: float = None
  back_projection_iters: int = 0

  def output_name(self):
    """The default name of the output folder: the input's stem and the task."""
    stem = os.path.splitext(os.path.basename(self.input_path))[0]
    if self.sr_factor:
      return f"{stem}_sr_x{self.sr_factor:g}"
    return f"{stem}_{self.task}" if self.task else stem


def check_request(request, num_scales=None, prefix=""):
  """Loads and checks everything ``request`` names (flag names with ``prefix``, e.g. "infer_"),
  before any work: returns (image, mask image or None). InputError, one line, otherwise."""
  if (request.mask_path is None) != (request.task is None):
    raise InputError(f"a mask needs a task and a task needs a mask: pass both "
                     f"--{prefix}mask=PATH and --{prefix}task=edit|harmonization")
  if request.sr_factor is not None:
    if not (math.isfinite(request.sr_factor) and request.sr_factor > 1):
      raise InputError(f"--{prefix}sr_factor must be a finite number > 1, got "
                       f"{request.sr_factor}")
    if request.mask_path is not None or request.entry_scale != "all":
      raise InputError(f"--{prefix}sr_factor runs the super-resolution recipe (entry 0, finest "
                       f"net only): drop --{prefix}mask and --{prefix}entry_scale")
  if request.back_projection_iters and request.sr_factor is None:
    raise InputError(f"--{prefix}back_projection_iters applies to super-resolution: pass "
                     f"--{prefix}sr_factor too")
  if request.back_projection_iters < 0:
    raise InputError(f"--{prefix}back_projection_iters must be >= 0, got "
                     f"{request.back_projection_iters}")
  if request.entry_scale != "all" and num_scales is not None and not (
      -num_scales <= request.entry_scale < num_scales):
    raise InputError(f"--{prefix}entry_scale={request.entry_scale} is out of range: the model "
                     f"has {num_scales} scales, use 0..{num_scales - 1} or -1..-{num_scales}")
  try:
    image = images.load_image(request.input_path)
  except InputError as e:
    raise InputError(f"--{prefix}input: {e}") from None
  mask = None
  if request.mask_path is not None:
    try:
      mask = images.load_image(request.mask_path)
    except InputError as e:
      raise InputError(f"--{prefix}mask: {e}") from None
    if not (mask.mean(axis=-1) > 0).any():  # as masks.prepare_mask reads it
      raise InputError(f"the mask {request.mask_path!r} has no white pixel: paint the region "
                       f"to change in white on black")
  return image, mask


def fresh_dir(path):
  """``path``, or ``path_2``, ``path_3``... whichever does not exist yet."""
  candidate, n = path, 1
  while os.path.exists(candidate):
    n += 1
    candidate = f"{path}_{n}"
  return candidate


def _input_shape(model, image, img_shape, report):
  """The first resize of the input that ``img_shape`` asks for, saying what it chose."""
  h, w = image.shape[:2]
  if img_shape != MODEL_SIZE:
    return img_shape
  side = max(model.sizes[-1])
  out = resampling.target_size(h, w, side)
  if out == (h, w):
    return None
  report(f"resizing the input from {h}x{w} to {out[0]}x{out[1]} (the model's training size, "
         f"longer side {side}; --keep_input_size keeps the input's size)")
  return side


def write_manipulations(model, request, output_dir, *, report=print):
  """Manipulates the image of ``request`` with ``model`` and writes what a person looks at.

  Writes ``input.png``, ``entry_K.png`` per entry scale K (``entry_K_masked.png`` too with a
  mask), or ``sr_xF.png`` with ``sr_factor``, and ``grid.png`` (input and every result,
  labelled) into ``output_dir`` (a new folder: it appears whole, or not at all if anything
  fails). Returns the paths written.
  """
  image, mask = check_request(request, model.num_scales)
  outputs = {}  # name -> image in [-1, 1]
  if request.sr_factor is not None:
    factor = request.sr_factor
    result = np.asarray(model.super_resolve(
        image, factor, back_projection_iters=request.back_projection_iters))
    upsampled = np.asarray(resampling.resize(image, result.shape[:2], model.config.interp))
    outputs["input.png"] = image
    outputs[f"sr_x{factor:g}.png"] = result
    outputs["grid.png"] = grids.grid([upsampled, result], ["bicubic", f"SinIR x{factor:g}"])
  else:
    img_shape = _input_shape(model, image, request.img_shape, report)
    entries = (list(range(model.num_scales)) if request.entry_scale == "all"
               else [model.entry_index(request.entry_scale)])
    finest = np.asarray(model.pyramid(image, img_shape)[-1])
    results = [np.asarray(r) for r in model.manipulate_all(
        image, use_last_net_only=request.use_last_net_only, img_shape=img_shape)]
    results = [results[k] for k in entries]
    outputs["input.png"] = finest
    tiles, labels = [finest], ["input"]
    for k, result in zip(entries, results):
      outputs[f"entry_{k}.png"] = result
      tiles.append(result)
      labels.append(f"entry {k}")
    if mask is not None:
      if mask.shape[:2] != finest.shape[:2]:
        report(f"note: the mask is {mask.shape[0]}x{mask.shape[1]}, the image "
               f"{finest.shape[0]}x{finest.shape[1]}: resizing the mask to the image")
      soft = masks.prepare_mask(mask, request.task, finest.shape[:2])
      tiles.append(soft * 2 - 1)
      labels.append(f"{request.task} mask")
      for k, result in zip(entries, results):
        blended = masks.blend(finest, result, soft)
        outputs[f"entry_{k}_masked.png"] = blended
        tiles.append(blended)
        labels.append(f"entry {k} masked")
    outputs["grid.png"] = grids.grid(tiles, labels, columns=len(entries) + 1)
  written = _write_folder(output_dir, outputs)
  report(f"wrote {len(written)} images to {output_dir}:")
  for path in written:
    report(f"  {path}")
  return written


def _write_folder(output_dir, outputs):
  """Writes the images of ``outputs`` into a hidden folder beside ``output_dir``, then renames
  it to ``output_dir`` (which must not exist, or be an empty folder). On a failure nothing is
  left: neither the images nor the parent folders made for them."""
  output_dir = os.path.abspath(output_dir)
  parent = os.path.dirname(output_dir)
  made = parent
  while not os.path.exists(os.path.dirname(made)):
    made = os.path.dirname(made)
  made = None if os.path.exists(made) else made  # the outermost folder this call makes
  tmp = os.path.join(parent, f".{os.path.basename(output_dir)}.{secrets.token_hex(4)}.tmp")
  try:
    for name, array in outputs.items():
      images.save_image(os.path.join(tmp, name), np.asarray(array))
    if os.path.isdir(output_dir) and not os.listdir(output_dir):
      os.rmdir(output_dir)
    os.rename(tmp, output_dir)
  except BaseException:
    shutil.rmtree(made or tmp, ignore_errors=True)
    raise
  return [os.path.join(output_dir, name) for name in outputs]
