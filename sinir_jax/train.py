"""Trains a SinIR cascade on one image.

  python -m sinir_jax.train --image=photo.jpg --workdir=runs/photo --flagfile=configs/generic.cfg

Every Config field is a flag. Without --image it trains on the bundled default image; without
--workdir it creates a fresh folder under ./runs and prints it. Rerunning the same command
continues an interrupted run from its last checkpoint.
"""
import datetime
import os
import sys

from absl import flags

from sinir_jax import cli
from sinir_jax import io as io_lib
from sinir_jax import manipulate
from sinir_jax import trainer

flags.DEFINE_string("image", None, "training image (default: the bundled coffee photo)")
flags.DEFINE_string("workdir", None, "run folder (default: a new folder under ./runs)")
flags.DEFINE_bool("overwrite", False, "replace a run of another config or image in --workdir")
cli.define_config_flags()
cli.define_infer_flags(prefix="infer_")  # --infer_input=PATH manipulates it after training
FLAGS = flags.FLAGS


def _fresh_workdir(image_path):
  stem = os.path.splitext(os.path.basename(image_path))[0]
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  path = os.path.join("runs", f"{stem}_{stamp}")
  suffix = 1
  while os.path.exists(path):
    path, suffix = os.path.join("runs", f"{stem}_{stamp}_{suffix}"), suffix + 1
  return path


def main(argv):
  if len(argv) > 1:
    raise io_lib.InputError(f"unexpected arguments {argv[1:]}: flags look like --name=value")
  config = cli.config_from_flags()
  image_path = os.path.abspath(FLAGS.image or io_lib.DEFAULT_IMAGE)
  workdir = os.path.abspath(FLAGS.workdir or _fresh_workdir(image_path))
  print(f"training on {image_path}; run folder: {workdir}", flush=True)
  infer = cli.infer_options("infer_") if FLAGS.infer_input else None
  report = lambda line: print(line, flush=True)
  try:
    model = trainer.train(image_path, config, workdir, overwrite=FLAGS.overwrite, report=report)
  except trainer.TrainingDiverged as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
  if infer is not None:
    output_dir = manipulate.fresh_dir(os.path.join(
        workdir, "infer", cli.infer_dir_name(FLAGS.infer_input, infer)))
    manipulate.write_manipulations(model, FLAGS.infer_input, output_dir, report=report, **infer)
  print(f"next: python -m sinir_jax.infer --workdir={workdir} --input=IMAGE")


if __name__ == "__main__":
  cli.run(main)
