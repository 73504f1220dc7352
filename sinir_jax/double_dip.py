"""Decomposes one image into layers with Double-DIP: segmentation, transparency separation,
dehazing or watermark removal.

  python -m sinir_jax.double_dip --task=segment --image=IN.png --hint=TRIMAP.png --output_dir=D
  python -m sinir_jax.double_dip --task=separate --image=MIX1.png --image2=MIX2.png --output_dir=D
  python -m sinir_jax.double_dip --task=dehaze --image=HAZY.png --output_dir=D
  python -m sinir_jax.double_dip --task=watermark --image=IN.png --hint=BOX.png --output_dir=D
  python -m sinir_jax.double_dip --task=separate_single --image=IN.png --output_dir=D

--task alone runs the official script's setting (configs/double_dip_*.cfg spell them out;
--preset=cpu, or configs/double_dip_cpu.cfg, runs fewer steps), except that dehazing stops
after its first pass: the official second pass over-dehazes (sinir_jax.dip.double.tasks);
--dehaze_passes=2 runs it, and that it keeps a fifth of the haze it finds (the fitted
transmission is too low; --dehaze_strength=1 removes all of it, as the official code).
Segmentation's hint is a trimap of the image's size: white =
foreground, black = background, grey = unknown; the watermark's is white inside a box around
the mark. D gets mask.png, foreground.png and background.png (segment), layer1.png and
layer2.png (separate; separate_single splits one image into two layers that sum to it),
dehazed.png and transmission.png (dehaze) or clean.png (watermark), and grid.png, loss.png and
result.json; an existing non-empty D is refused unless --overwrite.
"""
import os
import sys
import time

from absl import flags

from sinir_jax.core import cli
from sinir_jax.core import images
from sinir_jax.core.errors import InputError
from sinir_jax.dip.double import config as config_lib
from sinir_jax.dip.double import outputs
from sinir_jax.dip.double import tasks

FLAGS = flags.FLAGS


def define_flags(command):
  command.group("run", [
      flags.DEFINE_string("image", None, "the image (separate: the first mixture)"),
      flags.DEFINE_string("image2", None, "separate: the second mixture, of the same size"),
      flags.DEFINE_string("hint", None, "segment: the trimap (white = foreground, black = "
                          "background, grey = unknown); watermark: white inside a box around "
                          "the mark; of the image's size"),
      flags.DEFINE_string("airlight", None, "dehaze: the airlight as r,g,b in [0, 1] (default: "
                          "the dark channel prior's)"),
      flags.DEFINE_string("output_dir", None, "the folder for the results (fixed names)"),
      flags.DEFINE_bool("overwrite", False, "write into an existing non-empty --output_dir"),
  ])
  command.group("Double-DIP (sinir_jax.dip.double.DoubleDIPConfig)",
                cli.define_config_flags(config_lib.DoubleDIPConfig))


def _load(flag):
  try:
    return images.load_image(FLAGS[flag].value)
  except InputError as e:
    raise InputError(f"--{flag}: {e}") from None


def _airlight(text):
  try:
    values = [float(v) for v in text.split(",")]
  except ValueError:
    values = []
  if len(values) != 3 or not all(0 <= v <= 1 for v in values):
    raise InputError(f"--airlight must be three values in [0, 1] such as 0.8,0.8,0.85, got "
                     f"{text!r}")
  return values


def _check_output_dir(path, overwrite):
  if os.path.lexists(path) and not os.path.isdir(path):
    raise InputError(f"--output_dir {path!r} exists and is not a folder: pass a folder path")
  if os.path.isdir(path) and os.listdir(path) and not overwrite:
    raise InputError(f"--output_dir {path!r} is not empty: pass --overwrite to write into it, "
                     f"or choose another folder")


def _hint(task, size):
  if not FLAGS.hint:
    what = "a trimap" if task == "segment" else "a box image (white around the mark)"
    raise InputError(f"--task={task} needs --hint: {what} of the image's size")
  hint = (_load("hint") + 1) / 2
  if hint.shape[:2] != size:
    raise InputError(f"--hint is {hint.shape[0]}x{hint.shape[1]} but --image is {size[0]}x"
                     f"{size[1]} (height x width): pass a hint of the image's size")
  return hint.mean(axis=-1)


def main(argv):
  cli.no_arguments(argv)
  config = cli.config_from_flags(config_lib.DoubleDIPConfig)
  task = config.task
  if not FLAGS.image:
    raise InputError("pass --image: the image to decompose")
  if not FLAGS.output_dir:
    raise InputError("pass --output_dir: the folder for the results")
  for flag, wanted in (("image2", "separate"), ("airlight", "dehaze")):
    if FLAGS[flag].value and task != wanted:
      raise InputError(f"--{flag} is for --task={wanted}, not --task={task}: drop it")
  if FLAGS.hint and task not in ("segment", "watermark"):
    raise InputError(f"--hint is for --task=segment or watermark, not --task={task}: drop it")
  if task == "separate" and not FLAGS.image2:
    raise InputError("--task=separate needs --image2: a second mixture of the same two layers")
  output_dir = os.path.abspath(FLAGS.output_dir)
  _check_output_dir(output_dir, FLAGS.overwrite)
  image = _load("image")
  inputs = {"image": image}
  report = lambda line: print(line, flush=True)
  # Every input is checked before any work or file: the task functions validate sizes first.
  if task == "segment":
    hint = _hint(task, image.shape[:2])
    inputs["hint"] = hint
    run = lambda: tasks.segment(image, hint, config, report=report)
  elif task == "separate":
    image2 = _load("image2")
    inputs = {"mixture 1": image, "mixture 2": image2}
    run = lambda: tasks.separate(image, image2, config, report=report)
  elif task == "separate_single":
    run = lambda: tasks.separate_single(image, config, report=report)
  elif task == "dehaze":
    airlight = _airlight(FLAGS.airlight) if FLAGS.airlight else None
    inputs = {"hazy": image}
    run = lambda: tasks.dehaze(image, config, airlight=airlight, report=report)
  else:
    hint = _hint(task, image.shape[:2])
    inputs["hint"] = hint
    run = lambda: tasks.remove_watermark(image, hint, config, report=report)
  start = time.perf_counter()
  try:
    result = run()
  except FloatingPointError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
  seconds = time.perf_counter() - start
  os.makedirs(output_dir, exist_ok=True)
  outputs.write(output_dir, task, result, inputs, {"task": task, "seconds": seconds})
  names = ", ".join(outputs.NAMES[task] + ("grid.png", "loss.png"))
  print(f"wrote {names} to {output_dir} ({seconds:.1f} s)")


if __name__ == "__main__":
  cli.run(main, define_flags, __doc__)
