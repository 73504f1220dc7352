"""Super-resolves one image with ZSSR, trained on the image alone.

  python -m sinir_jax.zssr --image=LR.png --sr_factor=4 --output=SR.png [--kernel=k.mat]
      [--flagfile=configs/zssr.cfg]

The factor alone runs the recipe behind the paper's numbers for it (x2: one jump; x4: x2, then
x4 with the x2 result as a further training source). Prints progress (step, loss, learning rate,
reconstruction error, steps/s) and writes SR.png and, beside it, SR_zssr/: loss.png (the
training loss and reconstruction error of every factor), metrics.jsonl, config.json and each
factor's result. An existing output is refused unless --overwrite.
"""
import dataclasses
import json
import os

from absl import flags

from sinir_jax.core import cli
from sinir_jax.core import files
from sinir_jax.core import images
from sinir_jax.core import plots
from sinir_jax.core.errors import InputError
from sinir_jax.zssr import config as config_lib
from sinir_jax.zssr import kernels
from sinir_jax.zssr import trainer

FLAGS = flags.FLAGS


def define_flags(command):
  command.group("run", [
      flags.DEFINE_string("image", None, "the low-resolution image"),
      flags.DEFINE_string("output", None, "where the super-resolved image goes (.png)"),
      flags.DEFINE_bool("overwrite", False, "replace an existing --output and its run folder"),
  ])
  command.group("ZSSR (configs/zssr*.cfg hold the official configurations)",
                cli.define_config_flags(config_lib.ZSSRConfig))


def run_folder(output):
  """The folder of a run's plot and logs: beside the output, ``<stem>_zssr``."""
  stem, _ = os.path.splitext(os.path.abspath(output))
  return f"{stem}_zssr"


def _check_output(path, overwrite):
  """The absolute output path, if it can be written: a .png/.jpg in a writable folder, not an
  existing file (unless ``overwrite``)."""
  path = os.path.abspath(path)
  if os.path.splitext(path)[1].lower() not in (".png", ".jpg", ".jpeg"):
    raise InputError(f"--output {path!r} must end in .png or .jpg")
  if os.path.isdir(path):
    raise InputError(f"--output {path!r} is a folder: name an image file")
  if os.path.lexists(path) and not overwrite:
    raise InputError(f"--output {path!r} exists: choose another path or pass --overwrite")
  parent = os.path.dirname(path)
  while not os.path.lexists(parent):
    parent = os.path.dirname(parent)
  if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
    raise InputError(f"--output {path!r}: {parent!r} is not a writable folder")
  return path


def write_results(output, result, config, lr_shape):
  """SR image, and beside it the run folder (module docstring)."""
  folder = run_folder(output)
  files.write_json(os.path.join(folder, "config.json"), dataclasses.asdict(config))
  lines = []
  for stage, image in zip(result.stages, result.images):
    name = trainer.name_of(stage.factor)
    images.save_image(os.path.join(folder, f"x{name}.png"), image)
    lines += [json.dumps({"factor": name, "step": s, "loss": loss}) for s, loss in stage.losses]
    lines += [json.dumps({"factor": name, "step": s, "reconstruction_mse": e})
              for s, e in stage.errors]
    lines.append(json.dumps({"factor": name, "steps": stage.steps, "seconds": stage.seconds,
                             "lr_changes": stage.lr_changes}))
  files.write_atomic(os.path.join(folder, "metrics.jsonl"), "\n".join(lines) + "\n")
  series = {}
  for stage in result.stages:
    name = trainer.name_of(stage.factor)
    series[f"x{name} L1 loss"] = tuple(zip(*stage.losses)) if stage.losses else ((), ())
    series[f"x{name} reconstruction MSE"] = tuple(zip(*stage.errors)) if stage.errors else ((), ())
  files.write_atomic(os.path.join(folder, "loss.png"), plots.to_png(plots.curves(
      series, title=f"ZSSR training, {lr_shape[0]}x{lr_shape[1]} LR image", xlabel="step",
      ylabel="loss", log_y=True)))
  images.save_image(output, result.image)
  return folder


def main(argv):
  cli.no_arguments(argv)
  if not FLAGS.image or not FLAGS.output:
    raise InputError("pass --image=LR.png (the low-resolution image) and --output=SR.png")
  config = cli.config_from_flags(config_lib.ZSSRConfig)
  output = _check_output(FLAGS.output, FLAGS.overwrite)
  try:
    lr = images.load_image(FLAGS.image)
  except InputError as e:
    raise InputError(f"--image: {e}") from None
  if config.kernel:
    kernels.load_kernel(config.kernel)  # checked before any work
  report = lambda line: print(line, flush=True)
  factors = ", ".join(f"x{trainer.name_of(f)}" for f in config.factors())
  report(f"ZSSR of {FLAGS.image} ({lr.shape[0]}x{lr.shape[1]}): {factors}"
         f"{' with the given kernel' if config.kernel else ''}")
  result = trainer.super_resolve(lr, config, report=report)
  folder = write_results(output, result, config, lr.shape)
  report(f"wrote {output} ({result.image.shape[0]}x{result.image.shape[1]}) in "
         f"{result.seconds:.0f} s; loss curves and logs in {folder}")


if __name__ == "__main__":
  cli.run(main, define_flags, __doc__)
