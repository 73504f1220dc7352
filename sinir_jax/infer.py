"""Manipulates an image with a trained cascade.

  python -m sinir_jax.infer --workdir=runs/photo --input=paint.png --entry_scale=all

Writes each entry scale's result, masked variants (--task=edit|harmonization --mask=PATH) and a
labelled grid, and prints their paths. --sr_factor=F super-resolves instead.
"""
import os

from absl import flags

from sinir_jax import checkpoint
from sinir_jax import cli
from sinir_jax import io as io_lib
from sinir_jax import manipulate

flags.DEFINE_string("workdir", None, "folder of a trained model (python -m sinir_jax.train)")
cli.define_infer_flags()
flags.DEFINE_string("output_dir", None, "where results go (default: a new folder under "
                    "WORKDIR/infer)")
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise io_lib.InputError(f"unexpected arguments {argv[1:]}: flags look like --name=value")
  if not FLAGS.workdir or not FLAGS.input:
    raise io_lib.InputError("pass --workdir=DIR (a trained model) and --input=PATH (an image)")
  model = checkpoint.load_model(FLAGS.workdir)
  options = cli.infer_options()
  output_dir = FLAGS.output_dir
  if output_dir is None:
    output_dir = manipulate.fresh_dir(os.path.join(
        FLAGS.workdir, "infer", cli.infer_dir_name(FLAGS.input, options)))
  elif os.path.isdir(output_dir) and os.listdir(output_dir):
    raise io_lib.InputError(f"--output_dir {output_dir!r} is not empty: choose a new folder "
                            f"(or leave --output_dir out for a fresh one)")
  manipulate.write_manipulations(model, FLAGS.input, output_dir, **options)


if __name__ == "__main__":
  cli.run(main)
