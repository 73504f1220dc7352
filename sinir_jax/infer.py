"""Manipulates an image with a trained SinIR cascade.

  python -m sinir_jax.infer --workdir=runs/photo --input=paint.png [--entry_scale=K|all]
      [--task=edit|harmonization --mask=PATH] [--img_shape=N|H,W | --keep_input_size]
      [--use_last_net_only] [--sr_factor=F] [--output_dir=DIR]

Writes each entry scale's result (entry_K.png), masked variants (entry_K_masked.png) and a
labelled grid (grid.png), and prints their paths. The input is first resized to the model's
training size (its longer side), unless --img_shape or --keep_input_size says otherwise;
--sr_factor=F super-resolves instead (the release's recipe, with its own sizing).
"""
import os

from absl import flags

from sinir_jax.core import cli
from sinir_jax.core.errors import InputError
from sinir_jax.sinir import manipulate
from sinir_jax.sinir import runs

FLAGS = flags.FLAGS


def define_request_flags(command, prefix="", title="manipulation"):
  """The flags of one manipulation; the train CLI defines them with prefix "infer_"."""
  command.group(title, [
      flags.DEFINE_string(prefix + "input", None, "image to manipulate"),
      flags.DEFINE_string(prefix + "entry_scale", "all", "entry scale K (0 = coarsest, negative "
                          "counts from the finest, -1 = finest) or 'all'"),
      flags.DEFINE_enum(prefix + "task", None, ["edit", "harmonization"],
                        f"masked task, with --{prefix}mask"),
      flags.DEFINE_string(prefix + "mask", None, "mask image: white marks the region to change"),
      flags.DEFINE_string(prefix + "img_shape", None, "first resize of the input: longer side, "
                          "or h,w (default: the model's training size)"),
      flags.DEFINE_bool(prefix + "keep_input_size", False, "keep the input's own size instead of "
                        "resizing it to the model's training size"),
      flags.DEFINE_bool(prefix + "use_last_net_only", False, "run the finest net at every scale"),
      flags.DEFINE_float(prefix + "sr_factor", None, "super-resolve by this factor (> 1) "
                         "instead"),
      flags.DEFINE_integer(prefix + "back_projection_iters", 0, "with --" + prefix +
                           "sr_factor: back-project the result K times against the input (as "
                           "ZSSR does; not in the release)"),
  ])


def request_from_flags(input_path, prefix=""):
  """The ``manipulate.Request`` the flags describe (checked for form, not for files)."""
  value = lambda name: FLAGS[prefix + name].value
  entry = value("entry_scale")
  if entry != "all":
    try:
      entry = int(entry)
    except ValueError:
      raise InputError(f"--{prefix}entry_scale must be an int or 'all', got {entry!r}") from None
  img_shape = cli.parse_img_shape(value("img_shape"), prefix + "img_shape")
  if img_shape is not None and value("keep_input_size"):
    raise InputError(f"pass --{prefix}img_shape or --{prefix}keep_input_size, not both")
  if img_shape is None:
    img_shape = None if value("keep_input_size") else manipulate.MODEL_SIZE
  sr_factor = value("sr_factor")
  if sr_factor is not None:
    cli.positive_finite(sr_factor, prefix + "sr_factor", minimum=1.0)
  return manipulate.Request(input_path, entry, value("mask"), value("task"), img_shape,
                            value("use_last_net_only"), sr_factor,
                            value("back_projection_iters"))


def check_output_dir(path, flag="output_dir"):
  """``path`` if a new results folder can be made there: it must not exist (or be an empty
  folder), and its nearest existing parent must be a folder."""
  path = os.path.abspath(path)
  if os.path.lexists(path):
    if not os.path.isdir(path) or os.path.islink(path):
      raise InputError(f"--{flag} {path!r} exists and is not a folder: choose a new folder")
    if os.listdir(path):
      raise InputError(f"--{flag} {path!r} is not empty: choose a new folder (or leave --{flag} "
                       f"out for a fresh one)")
    return path
  parent = os.path.dirname(path)
  while not os.path.lexists(parent):
    parent = os.path.dirname(parent)
  if not os.path.isdir(parent):
    raise InputError(f"--{flag} {path!r} is inside {parent!r}, which is a file: choose a folder "
                     f"path")
  if not os.access(parent, os.W_OK):
    raise InputError(f"--{flag} {path!r}: {parent!r} is not writable: choose another folder")
  return path


def define_flags(command):
  command.group("model", [
      flags.DEFINE_string("workdir", None, "folder of a trained model (python -m sinir_jax.train)"),
  ])
  define_request_flags(command)
  command.group("output", [
      flags.DEFINE_string("output_dir", None, "where results go, a new folder (default: a new "
                          "folder under WORKDIR/infer)"),
  ])


def main(argv):
  cli.no_arguments(argv)
  if not FLAGS.workdir or not FLAGS.input:
    raise InputError("pass --workdir=DIR (a trained model) and --input=PATH (an image)")
  request = request_from_flags(FLAGS.input)
  output_dir = check_output_dir(FLAGS.output_dir) if FLAGS.output_dir else None
  model = runs.load_model(FLAGS.workdir)
  manipulate.check_request(request, model.num_scales)
  if output_dir is None:
    output_dir = manipulate.fresh_dir(os.path.join(FLAGS.workdir, "infer",
                                                   request.output_name()))
  manipulate.write_manipulations(model, request, output_dir)


if __name__ == "__main__":
  cli.run(main, define_flags, __doc__)
