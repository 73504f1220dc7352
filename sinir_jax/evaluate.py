"""Benchmarks SinIR against published numbers. One benchmark so far: x4 super-resolution.

  python -m sinir_jax.evaluate sr --hr_dir=HR --lr_dir=LR_x4 --workdir=runs/bsd100 \\
      --flagfile=configs/sr.cfg [--limit=N] [--shuffle_p=0.005,0.0005,0.000005]

Trains one SinIR model per LR image (and per shuffle probability; several at once, as
``sinir_jax.train_many`` does), super-resolves it x4, scores
it and plain MATLAB-bicubic x4 against the HR image, and writes the SR images, per-image metrics
(CSV and JSON), WORKDIR/summary.md (our means beside the paper's Table 3) and, for several p,
WORKDIR/tradeoff.png. Every training flag is available; rerunning the same command skips the
finished images and resumes a half-trained one; an image whose model cannot be trained is
reported and left out, and the command then exits 1. See ``sinir_jax.sr_benchmark`` for how HR and LR
files are paired and the workdir's layout.
"""
import sys

from absl import flags

from sinir_jax import cli
from sinir_jax import io as io_lib
from sinir_jax import sr_benchmark

BENCHMARKS = ("sr",)

flags.DEFINE_string("hr_dir", None, "folder of the high-resolution ground-truth images")
flags.DEFINE_string("lr_dir", None, "folder of the x4 low-resolution input images")
flags.DEFINE_string("workdir", None, "results folder (a rerun continues there)")
flags.DEFINE_integer("limit", None, "only the first N image pairs (sorted by name)", lower_bound=1)
flags.DEFINE_string("shuffle_p", "0.0005", "probability that a pixel is shuffled; a "
                    "comma-separated list trains one model per image per value (the "
                    "perception-distortion sweep, paper Figure 8)")
flags.DEFINE_integer("batch_per_device", 4, "models trained at once on each device", lower_bound=1)
cli.define_config_flags(exclude=("shuffle_p",))
FLAGS = flags.FLAGS


def main(argv):
  usage = "python -m sinir_jax.evaluate sr --hr_dir=DIR --lr_dir=DIR --workdir=DIR"
  if len(argv) != 2 or argv[1] not in BENCHMARKS:
    got = f"got {' '.join(argv[1:])!r}" if len(argv) > 1 else "got none"
    raise io_lib.InputError(f"name one benchmark ({', '.join(BENCHMARKS)}), {got}: {usage}")
  missing = [f"--{name}" for name in ("hr_dir", "lr_dir", "workdir") if not FLAGS[name].value]
  if missing:
    raise io_lib.InputError(f"pass {', '.join(missing)}: {usage}")
  shuffle_ps = sr_benchmark.parse_shuffle_ps(FLAGS.shuffle_p)
  config = cli.config_from_flags(shuffle_p=shuffle_ps[0])
  _, failures = sr_benchmark.run_benchmark(
      FLAGS.hr_dir, FLAGS.lr_dir, FLAGS.workdir, config, shuffle_ps, limit=FLAGS.limit,
      batch_per_device=FLAGS.batch_per_device, report=lambda line: print(line, flush=True))
  if failures:
    print(f"error: {len(failures)} model(s) could not be trained and are left out of the "
          f"tables: {'; '.join(f'{k}: {v}' for k, v in sorted(failures.items()))}",
          file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  cli.run(main)
