"""Restores one image with Deep Image Prior: denoising, x4 / x8 super-resolution or inpainting.

  python -m sinir_jax.dip --task=denoise --image=noisy.png --output=clean.png
  python -m sinir_jax.dip --task=sr --sr_factor=4 --image=lr.png --output=sr.png
  python -m sinir_jax.dip --task=inpaint --image=damaged.png --mask=mask.png --output=filled.png

--task alone runs its official setting (configs/dip_*.cfg spell them out, and
configs/dip_cpu.cfg makes any of them small enough for a CPU); flags and --flagfile override.
The mask is white where the image is known. --reference=GT.png adds the PSNR to the progress
lines and curves, and changes nothing else. The output is written atomically. An existing one
is refused unless --overwrite. The run folder (--workdir, default OUT_dip/ beside the output)
gets snapshots, curves.png, metrics.jsonl, config.json and the final, averaged and
early-stopping outputs.
"""
import json
import os
import sys

from absl import flags
from PIL import Image

from sinir_jax.core import cli
from sinir_jax.core import images
from sinir_jax.core.errors import InputError
from sinir_jax.dip import config as config_lib
from sinir_jax.dip import measure
from sinir_jax.dip import ops
from sinir_jax.dip import tasks
from sinir_jax.dip import trainer

FLAGS = flags.FLAGS
RESULTS = ("final", "ema", "auto", "auto_ema")


def define_flags(command):
  command.group("run", [
      flags.DEFINE_string("image", None, "the noisy (denoise), low-resolution (sr) or damaged "
                          "(inpaint) image"),
      flags.DEFINE_string("mask", None, "inpaint: the mask image, white = known, of the image's "
                          "size"),
      flags.DEFINE_string("reference", None, "the ground truth, only to report PSNR (the size of "
                          "the result)"),
      flags.DEFINE_string("output", None, "where to write the result image (.png, .jpg, ...)"),
      flags.DEFINE_enum("result", None, RESULTS, "which output --output gets: final (the "
                        "last step's, as the official notebooks) | ema (the running average) | "
                        "auto (the early-stopping choice) | auto_ema (the running average at that "
                        "step); default: auto_ema for denoise (README: it beats the last "
                        "step's average where the net fits the noise early), final otherwise"),
      flags.DEFINE_string("workdir", None, "the run folder (default: OUT_dip/ beside --output)"),
      flags.DEFINE_bool("overwrite", False, "replace an existing --output and a run folder of "
                        "another run"),
      flags.DEFINE_bool("dry_run", False, "check every input, print the resolved config and the "
                        "net's size, and stop"),
  ])
  command.group("Deep Image Prior (sinir_jax.dip.DIPConfig; configs/dip_*.cfg hold the official "
                "settings)", cli.define_config_flags(config_lib.DIPConfig))


def _load(flag):
  try:
    return images.load_image(FLAGS[flag].value)
  except InputError as e:
    raise InputError(f"--{flag}: {e}") from None


def _check_output(path, overwrite):
  ext = os.path.splitext(path)[1].lower()
  if Image.registered_extensions().get(ext) not in Image.SAVE:
    raise InputError(f"--output {path!r} has an unknown image extension {ext!r}: use .png or "
                     f".jpg")
  if os.path.isdir(path):
    raise InputError(f"--output {path!r} is a directory: pass an image file path")
  if os.path.lexists(path) and not overwrite:
    raise InputError(f"--output {path!r} exists: pass --overwrite to replace it, or choose "
                     f"another --output")


def main(argv):
  cli.no_arguments(argv)
  config = cli.config_from_flags(config_lib.DIPConfig)
  task = config.task
  result_kind = FLAGS.result or ("final" if task != "denoise" else "auto_ema"
                                 if 0 < config.es_window <= config.iters else "ema")
  if not FLAGS.image:
    raise InputError("pass --image: the noisy, low-resolution or damaged image")
  if not FLAGS.output and not FLAGS.dry_run:
    raise InputError("pass --output: where to write the result image")
  if FLAGS.mask and task != "inpaint":
    raise InputError(f"--mask is for --task=inpaint, not --task={task}: drop --mask")
  if result_kind.startswith("auto") and not config.es_window:
    raise InputError(f"--result={result_kind} needs the early-stopping window: pass "
                     f"--es_window >= 2")
  if result_kind.startswith("auto") and config.es_window > config.iters:
    raise InputError(f"--result={result_kind}: the variance window (--es_window={config.es_window}) "
                     f"never fills in --iters={config.iters} steps")
  image = _load("image")
  if task == "inpaint" and not FLAGS.mask:
    raise InputError("--task=inpaint needs --mask: an image of the same size, white = known")
  mask = ops.mask_from_image(_load("mask")) if FLAGS.mask else None
  reference = _load("reference") if FLAGS.reference else None
  problem = tasks.build_problem(task, image, config, mask=mask, reference=reference)
  h, w = problem.crop[2:]
  if FLAGS.dry_run:
    print(json.dumps(config.to_dict()))
    print(f"result {h}x{w}, net output {problem.out_size[0]}x{problem.out_size[1]}")
    return
  output = os.path.abspath(FLAGS.output)
  _check_output(output, FLAGS.overwrite)
  workdir = os.path.abspath(FLAGS.workdir or os.path.splitext(output)[0] + "_dip")
  paths = [f"--{name}={os.path.abspath(FLAGS[name].value)}"
           for name in ("image", "mask", "reference") if FLAGS[name].value]
  flag_lines = [*paths, f"--output={output}", f"--result={result_kind}",
                f"--workdir={workdir}", *config.to_flags()]
  report = lambda line: print(line, flush=True)
  try:
    result = trainer.fit(problem, config, report=report, workdir=workdir,
                         overwrite=FLAGS.overwrite, flag_lines=flag_lines)
  except trainer.DIPDiverged as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
  written = {"final": result.image, "ema": result.ema, "auto": result.auto,
             "auto_ema": result.auto_ema}[result_kind]
  images.save_image(output, written)
  score = "" if reference is None else (
      f", PSNR {measure.psnr(images.load_image(output), reference):.2f} dB to --reference")
  print(f"wrote {output} (the {result_kind} output, {h}x{w}{score}); run folder {workdir}")


if __name__ == "__main__":
  cli.run(main, define_flags, __doc__)
