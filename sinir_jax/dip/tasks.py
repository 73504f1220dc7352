"""Deep Image Prior's three tasks as Python functions: ``denoise``, ``super_resolve``, ``inpaint``.

Each fits a freshly initialised net, mapping a fixed random input to an image, to one
observation, and returns a ``trainer.DIPResult``. Images come and go as (H, W, C) float arrays
in [-1, 1], like the rest of sinir_jax; inside, the net works in [0, 1] as the official code.

- denoise: the output is fitted to the noisy image (MSE).
- super_resolve: the net produces the x``factor`` image (from input noise of that size) and its
  Lanczos2 downscale is fitted to the LR image.
- inpaint: the output is fitted to the known pixels only (mask 1 = known).

Any image size. The net needs sides that are multiples of 2 ** depth (and at least
``network.min_side``), so the net's output is made larger. The image sits at its centre, and
the border around it gets loss weight 0. The net fills that border freely, as it fills
inpainting's holes, and the result is the centre window, at the input's size (x``factor`` for
SR). The official notebooks instead centre-crop the image to a multiple of 32 (64 for the
depth-6 net), so they lose up to 31 border pixels. For sizes that are multiples already, the two
are the same.
"""
import dataclasses
import math

import numpy as np

from sinir_jax.core.errors import InputError
from sinir_jax.dip import config as config_lib
from sinir_jax.dip import network
from sinir_jax.dip import ops
from sinir_jax.dip import trainer


@dataclasses.dataclass(frozen=True)
class Problem:
  """What a run fits: the observation, padded to the net's size, and where the image is.

  target: (1, Ht, Wt, C) observation in [0, 1]; weight: (1, Ht, Wt, 1) loss weights;
  out_size: (H, W) of the net's output (Ht, Wt times ``factor``); crop: (top, left, h, w) of
  the result in the output; count: values of the real observation; reference: (1, h, w, C) in
  [0, 1] or None, only for reporting PSNR.
  """
  task: str
  target: np.ndarray
  weight: np.ndarray
  out_size: tuple
  crop: tuple
  factor: int
  count: int
  reference: np.ndarray = None


def as_image(image, what):
  """An (H, W, C) float32 image in [-1, 1] from an array, or InputError naming ``what``."""
  array = np.asarray(image, dtype=np.float32)
  if array.ndim != 3 or array.shape[-1] < 1 or min(array.shape[:2]) < 1:
    raise InputError(f"the {what} must be an (H, W, C) array, got shape {array.shape}")
  if not np.all(np.isfinite(array)):
    raise InputError(f"the {what} has NaN or inf values")
  return array


def _layout(h, w, net, factor):
  """(net output size, observation size, observation's (top, left) offset in it)."""
  multiple = math.lcm(2 ** net.depth, factor)
  out = tuple(ops.round_up(max(side * factor, network.min_side(net)), multiple)
              for side in (h, w))
  observed = (out[0] // factor, out[1] // factor)
  return out, observed, (ops.centre_pad(h, observed[0])[0], ops.centre_pad(w, observed[1])[0])


def _reference(reference, shape):
  if reference is None:
    return None
  reference = as_image(reference, "reference")
  if reference.shape != shape:
    raise InputError(f"the reference image is {_size(reference.shape)} but the result will be "
                     f"{_size(shape)}: pass the ground truth of the same size")
  return (reference[None] + 1) / 2


def _size(shape):
  return f"{shape[0]}x{shape[1]}x{shape[2]}"


def build_problem(task, image, config, *, mask=None, reference=None):
  """The ``Problem`` of ``task`` for the (H, W, C) ``image`` in [-1, 1] (the noisy, LR or
  damaged image) and the validated ``config``; ``mask`` (H, W) for inpaint (1 = known).
  InputError for inputs that do not fit together (sizes, a mask without known pixels)."""
  image = as_image(image, "LR image" if task == "sr" else "image")
  h, w, channels = image.shape
  factor = config.sr_factor if task == "sr" else 1
  net = config_lib.net_for(config, channels)
  out, observed, (top, left) = _layout(h, w, net, factor)
  target = np.zeros((1, *observed, channels), np.float32)
  weight = np.zeros((1, *observed, 1), np.float32)
  target[0, top:top + h, left:left + w] = (image + 1) / 2
  weight[0, top:top + h, left:left + w] = 1
  if task == "inpaint":
    known = _known(mask, (h, w))
    weight[0, top:top + h, left:left + w, 0] = known
    target *= weight
  return Problem(task, target, weight, out, (top * factor, left * factor, h * factor, w * factor),
                 factor, channels * h * w,
                 _reference(reference, (h * factor, w * factor, channels)))


def _known(mask, size):
  if mask is None:
    raise InputError("inpainting needs a mask: an (H, W) array (or --mask image), 1 (white) = "
                     "known")
  mask = np.asarray(mask, dtype=np.float32)
  if mask.ndim == 3 and mask.shape[-1] == 1:
    mask = mask[..., 0]
  if mask.ndim != 2:
    raise InputError(f"the mask must be an (H, W) or (H, W, 1) array, got shape {mask.shape}")
  if mask.shape != size:
    raise InputError(f"the mask is {mask.shape[0]}x{mask.shape[1]} but the image is "
                     f"{size[0]}x{size[1]}: pass a mask of the image's size")
  known = (mask >= 0.5).astype(np.float32)
  if not known.any():
    raise InputError("the mask has no known pixels (white, 1): there is nothing to fit")
  return known


def task_config(config, task, **changes):
  """``config`` (None: the task's official setting) for ``task``, with ``changes``, validated;
  InputError if it names another task."""
  config = config or config_lib.DIPConfig()
  if config.task not in (None, task):
    raise InputError(f"this config is for task {config.task!r}, not {task!r}: pass a config "
                     f"with task={task!r} or None")
  return config.replace(task=task, **changes).validate()


def _fit(task, image, config, *, mask=None, reference, report, workdir, overwrite):
  problem = build_problem(task, image, config, mask=mask, reference=reference)
  return trainer.fit(problem, config, report=report, workdir=workdir, overwrite=overwrite)


def denoise(noisy, config=None, *, reference=None, report=print, workdir=None, overwrite=False):
  """Denoises ``noisy`` ((H, W, C) in [-1, 1]) with Deep Image Prior.

  Args:
    noisy: the noisy image.
    config: a ``DIPConfig`` (None: the official F16 setting, ``preset_for("denoise")``).
    reference: the clean image, only to report PSNR (it changes nothing).
    report: called with each progress line.
    workdir: run folder for snapshots, curves, metrics and the result images (None: nothing
      is written); one holding another run is refused unless ``overwrite``.

  Returns:
    ``DIPResult``: ``image`` (the last step's output), ``ema`` (the running average), ``auto``
    (the early-stopping choice), steps, per-step history.

  Raises:
    InputError: bad config or inputs. trainer.DIPDiverged: the loss became NaN or inf.
  """
  config = task_config(config, "denoise")
  return _fit("denoise", noisy, config, reference=reference, report=report, workdir=workdir,
              overwrite=overwrite)


def super_resolve(lr, factor, config=None, *, reference=None, report=print, workdir=None,
                  overwrite=False):
  """Super-resolves ``lr`` ((h, w, C) in [-1, 1]) x``factor`` (4 or 8) with Deep Image Prior:
  the result is (factor * h, factor * w, C). ``config`` None: the official setting of the
  factor (``preset_for("sr", factor)``); its ``sr_factor`` becomes ``factor``. The other
  arguments and the result are ``denoise``'s (``reference``: the HR ground truth)."""
  config = task_config(config, "sr", sr_factor=factor)
  return _fit("sr", lr, config, reference=reference, report=report, workdir=workdir,
              overwrite=overwrite)


def inpaint(image, mask, config=None, *, reference=None, report=print, workdir=None,
            overwrite=False):
  """Fills the unknown pixels of ``image`` ((H, W, C) in [-1, 1]) with Deep Image Prior.
  ``mask``: (H, W) or (H, W, 1), 1 (or True; values >= 0.5) = known, 0 = to fill.
  ``config`` None: the official kate setting (``preset_for("inpaint")``). The other arguments
  and the result are ``denoise``'s (``reference``: the undamaged image)."""
  config = task_config(config, "inpaint")
  return _fit("inpaint", image, config, mask=mask, reference=reference, report=report,
              workdir=workdir, overwrite=overwrite)
