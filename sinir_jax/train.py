"""Trains a SinIR cascade on one image.

  python -m sinir_jax.train --image=photo.jpg --workdir=runs/photo --flagfile=configs/generic.cfg

Every field of sj.Config is a flag. Without --image it trains on the bundled photo; without
--workdir it creates a fresh folder under ./runs and prints it. Rerunning the same command
continues an interrupted run from its last checkpoint. --infer_input=PATH (with the other
--infer_* flags, those of python -m sinir_jax.infer) manipulates an image right after training.
"""
import datetime
import os
import sys

from absl import flags

from sinir_jax import infer
from sinir_jax.core import cli
from sinir_jax.core import images
from sinir_jax.core.errors import InputError
from sinir_jax.sinir import config as config_lib
from sinir_jax.sinir import manipulate
from sinir_jax.sinir import trainer

FLAGS = flags.FLAGS


def define_flags(command):
  command.group("run", [
      flags.DEFINE_string("image", None, "training image (default: the bundled coffee photo)"),
      flags.DEFINE_string("workdir", None, "run folder (default: a new folder under ./runs)"),
      flags.DEFINE_bool("overwrite", False, "replace a run of another config or image in "
                        "--workdir"),
  ])
  command.group("training (sj.Config; configs/*.cfg hold the release's recipes)",
                cli.define_config_flags(config_lib.Config))
  infer.define_request_flags(command, prefix="infer_",
                             title="manipulation after training (as python -m sinir_jax.infer)")


def _fresh_workdir(image_path):
  stem = os.path.splitext(os.path.basename(image_path))[0]
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  path = os.path.join("runs", f"{stem}_{stamp}")
  suffix = 1
  while os.path.exists(path):
    path, suffix = os.path.join("runs", f"{stem}_{stamp}_{suffix}"), suffix + 1
  return path


def main(argv):
  cli.no_arguments(argv)
  config = cli.config_from_flags(config_lib.Config)
  if FLAGS["image"].present and not FLAGS.image:
    raise InputError("--image is empty: pass an image path, or leave --image out to train on "
                     "the bundled photo")
  image_path = os.path.abspath(FLAGS.image or images.DEFAULT_IMAGE)
  request = None
  if FLAGS.infer_input:
    request = infer.request_from_flags(FLAGS.infer_input, prefix="infer_")
  # Everything is checked before any work: the image and its scale plan, the --infer_* inputs.
  try:
    _, plan = trainer.prepare(image_path, config)
  except InputError as e:
    raise InputError(f"--image: {e}") from None
  if request is not None:
    manipulate.check_request(request, plan.num_scales, prefix="infer_")
  workdir = os.path.abspath(FLAGS.workdir or _fresh_workdir(image_path))
  print(f"training on {image_path}; run folder: {workdir}", flush=True)
  report = lambda line: print(line, flush=True)
  try:
    model = trainer.train(image_path, config, workdir, overwrite=FLAGS.overwrite, report=report)
  except trainer.TrainingDiverged as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
  if request is not None:
    output_dir = manipulate.fresh_dir(os.path.join(workdir, "infer", request.output_name()))
    manipulate.write_manipulations(model, request, output_dir, report=report)
  print(f"next: python -m sinir_jax.infer --workdir={workdir} --input=IMAGE")


cli.callable_module(__name__, trainer.train)  # sj.train stays callable once this is imported

if __name__ == "__main__":
  cli.run(main, define_flags, __doc__)
