"""Trains one SinIR model per image, many at a time on every local device.

  python -m sinir_jax.train_many --images='photos/*.jpg' --workdir=runs/photos \\
      --flagfile=configs/generic.cfg --batch_per_device=8

Image NAME (its file stem) trains in WORKDIR/NAME, a single run's workdir. Every Config field is
a flag, the same for all images. Rerunning the same command continues where a killed job
stopped. Several hosts: run the same command on each with --num_processes and --process_id
(read from SLURM or Open MPI when those launched it); each trains its share of the images.
Exit code 0 when at least one model is trained (the summary lists the failures), 1 when every
image failed, 2 on bad flags.
"""
import glob
import os
import sys

from absl import flags

from sinir_jax import cli
from sinir_jax import io as io_lib
from sinir_jax import many

flags.DEFINE_multi_string("images", None, "glob of training images, e.g. 'photos/*.jpg' "
                          "(repeatable; ** recurses); each trains in WORKDIR/<file stem>")
flags.DEFINE_string("workdir", None, "folder of the runs, one subfolder per image")
flags.DEFINE_integer("batch_per_device", 4, "models trained at once on each device")
flags.DEFINE_integer("num_processes", None, "processes (hosts) sharing the images (default: "
                     "from SLURM or Open MPI, else 1)")
flags.DEFINE_integer("process_id", None, "this process's index in [0, num_processes)")
flags.DEFINE_bool("overwrite", False, "replace runs of another config or image in the image "
                  "folders")
cli.define_config_flags()
FLAGS = flags.FLAGS

# (process id, process count) variables of the launchers whose clusters JAX also detects.
_LAUNCHERS = (("SLURM", ("SLURM_JOB_ID", "SLURM_NODELIST", "SLURM_LOCALID"),
               "SLURM_PROCID", "SLURM_NTASKS"),
              ("Open MPI", ("OMPI_MCA_orte_hnp_uri",), "OMPI_COMM_WORLD_RANK",
               "OMPI_COMM_WORLD_SIZE"))


def process_share():
  """(process_id, num_processes, where from): the flags, else the launcher's variables."""
  if FLAGS.num_processes is not None or FLAGS.process_id is not None:
    if FLAGS.num_processes is None or FLAGS.process_id is None:
      raise io_lib.InputError("--num_processes and --process_id go together: give both")
    if FLAGS.num_processes < 1:
      raise io_lib.InputError(f"num_processes must be >= 1, got {FLAGS.num_processes}")
    return FLAGS.process_id, FLAGS.num_processes, "flags"
  for launcher, markers, index_var, count_var in _LAUNCHERS:
    if all(var in os.environ for var in markers + (index_var, count_var)):
      return int(os.environ[index_var]), int(os.environ[count_var]), launcher
  return 0, 1, "single process"


def image_paths(patterns):
  """The absolute paths of the files the globs match, sorted, each file once; a glob that
  matches nothing is refused."""
  paths = set()
  for pattern in patterns:
    matches = glob.glob(pattern, recursive=True)
    if not matches:
      raise io_lib.InputError(f"--images={pattern!r} matches no file: check the path and quote "
                              f"the glob")
    paths.update(os.path.realpath(path) for path in matches)
  return sorted(paths)


def main(argv):
  if len(argv) > 1:
    raise io_lib.InputError(f"unexpected arguments {argv[1:]}: flags look like --name=value")
  if not FLAGS.images or not FLAGS.workdir:
    raise io_lib.InputError("--images and --workdir are required: e.g. "
                            "--images='photos/*.jpg' --workdir=runs/photos")
  config = cli.config_from_flags()
  named = many.image_names(image_paths(FLAGS.images))
  index, count, source = process_share()
  workdir = os.path.abspath(FLAGS.workdir)
  print(f"{len(named)} image(s); process {index + 1}/{count} ({source}); run folders in "
        f"{workdir}", flush=True)
  summary = many.train_many(named, config, workdir, batch_per_device=FLAGS.batch_per_device,
                            process_index=index, process_count=count, overwrite=FLAGS.overwrite,
                            report=lambda line: print(line, flush=True))
  print("\n".join(summary.lines()), flush=True)
  if summary.failures and not (summary.trained or summary.already_done):
    sys.exit(1)
  print(f"next: python -m sinir_jax.infer --workdir={os.path.join(workdir, 'NAME')} "
        f"--input=IMAGE")


if __name__ == "__main__":
  cli.run(main)
