"""Trains one SinIR model per image, many at a time on every device (of every host).

  python -m sinir_jax.train_many --images='photos/*.jpg' --workdir=runs/photos \\
      --flagfile=configs/generic.cfg --batch_per_device=8

Image NAME (its file stem) trains in WORKDIR/NAME, a single run's workdir. Every Config field is
a flag, the same for all images. Rerunning the same command continues where a killed job
stopped. Several hosts: run the same command on each; the processes join through
jax.distributed.initialize (--coordinator_address, --num_processes, --process_id; found by JAX
under SLURM, Open MPI and, with --distributed, on Cloud TPU) and train the models on all their
devices together; process 0 reports. Exit code 0 when at least one model is trained (the summary
lists the failures), 1 when every image failed, 2 on bad flags.
"""
import glob
import os
import sys

import jax
from absl import flags

from sinir_jax.core import cli
from sinir_jax.core.errors import InputError
from sinir_jax.sinir import config as config_lib
from sinir_jax.sinir import many

FLAGS = flags.FLAGS


def define_flags(command):
  command.group("runs", [
      flags.DEFINE_multi_string("images", None, "glob of training images, e.g. 'photos/*.jpg' "
                                "(repeatable; ** recurses); each trains in WORKDIR/<file stem>"),
      flags.DEFINE_string("workdir", None, "folder of the runs, one subfolder per image"),
      flags.DEFINE_integer("batch_per_device", 4, "models trained at once on each device"),
      flags.DEFINE_bool("overwrite", False, "replace runs of another config or image in the "
                        "image folders"),
  ])
  command.group("several processes (hosts)", [
      flags.DEFINE_bool("distributed", False, "join the job's other processes with "
                        "jax.distributed.initialize, which finds them on Cloud TPU, SLURM and "
                        "Open MPI (implied by the next three flags, and by SLURM or Open MPI "
                        "with several tasks)"),
      flags.DEFINE_string("coordinator_address", None, "HOST:PORT of process 0, where the "
                          "processes meet (jax.distributed)"),
      flags.DEFINE_integer("num_processes", None, "processes (hosts) of the job "
                           "(jax.distributed)"),
      flags.DEFINE_integer("process_id", None, "this process's index in [0, num_processes)"),
  ])
  command.group("training (sj.Config, the same for every image)",
                cli.define_config_flags(config_lib.Config))

# Task counts that srun and mpirun set in the processes they launch (not in a batch script),
# whose clusters jax.distributed.initialize detects.
_LAUNCHER_TASKS = ("SLURM_STEP_NUM_TASKS", "OMPI_COMM_WORLD_SIZE")


def join_processes():
  """Calls jax.distributed.initialize when the flags or the launcher ask for several processes;
  must run before anything else uses JAX."""
  given = {name: FLAGS[name].value for name in ("coordinator_address", "num_processes",
                                                "process_id")}
  launched = any(int(os.environ.get(var, "1")) > 1 for var in _LAUNCHER_TASKS)
  if not (FLAGS.distributed or launched or any(v is not None for v in given.values())):
    return
  count, index = given["num_processes"], given["process_id"]
  if count is not None and count < 1:
    raise InputError(f"num_processes must be >= 1, got {count}")
  if index is not None and (index < 0 or count is not None and index >= count):
    raise InputError(f"process_id must be in [0, num_processes), got {index}")
  try:
    jax.distributed.initialize(**given)
  except (ValueError, RuntimeError) as e:
    reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise InputError(
        f"cannot join the other processes ({reason}): give --coordinator_address=HOST:PORT, "
        f"--num_processes and --process_id, or launch under SLURM, Open MPI or Cloud TPU") from e


def image_paths(patterns):
  """The absolute paths of the files the globs match, sorted, each file once; a glob that
  matches nothing is refused."""
  paths = set()
  for pattern in patterns:
    matches = glob.glob(pattern, recursive=True)
    if not matches:
      raise InputError(f"--images={pattern!r} matches no file: check the path and quote "
                              f"the glob")
    paths.update(os.path.realpath(path) for path in matches)
  return sorted(paths)


def main(argv):
  cli.no_arguments(argv)
  if not FLAGS.images or not FLAGS.workdir:
    raise InputError("--images and --workdir are required: e.g. --images='photos/*.jpg' "
                     "--workdir=runs/photos")
  if FLAGS.batch_per_device < 1:
    raise InputError(f"--batch_per_device must be >= 1, got {FLAGS.batch_per_device}")
  config = cli.config_from_flags(config_lib.Config)
  named = many.image_names(image_paths(FLAGS.images))
  join_processes()
  reports = jax.process_index() == 0

  def report(line):
    if reports:
      print(line, flush=True)

  workdir = os.path.abspath(FLAGS.workdir)
  report(f"{len(named)} image(s); run folders in {workdir}")
  summary = many.train_many(named, config, workdir, batch_per_device=FLAGS.batch_per_device,
                            overwrite=FLAGS.overwrite, report=report)
  report("\n".join(summary.lines()))
  if summary.failures and not (summary.trained or summary.already_done):
    sys.exit(1)
  report(f"next: python -m sinir_jax.infer --workdir={os.path.join(workdir, 'NAME')} "
         f"--input=IMAGE")


cli.callable_module(__name__, many.train_many)  # sj.train_many stays callable once this is imported

if __name__ == "__main__":
  cli.run(main, define_flags, __doc__)
