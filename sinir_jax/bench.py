"""Benchmarks SinIR training and inference on this machine's default JAX device.

  python -m sinir_jax.bench --sizes=125,250,500 --channels=128 --steps=3 --json=bench.json

For each square size (the paper's Table 1 settings: default scales, 500 steps per scale) it
times full training steps (frozen cascade + update) at every scale and reports per-scale step
time, the full training time (real on accelerators, extrapolated on CPU), compile time, achieved
GFLOP/s next to the matmul rate measured in the same run, and peak memory; then the latency of a
1024x1024 photo-realistic transfer. See ``sinir_jax.benchmarks.speed``.
"""
import json

from absl import flags
import jax

from sinir_jax.benchmarks import speed
from sinir_jax.core import cli
from sinir_jax.core import files
from sinir_jax.core.errors import InputError
from sinir_jax.sinir import config as config_lib

FLAGS = flags.FLAGS


def define_flags(command):
  command.group("benchmark", [
      flags.DEFINE_list("sizes", ["125", "250", "500"], "square training sizes (max_size) to time"),
      flags.DEFINE_integer("channels", 128, "net_ch"),
      flags.DEFINE_integer("steps", 3, "timed steps per scale (after one warm-up step)"),
      flags.DEFINE_integer("iters", 500, "steps per scale of the training time it extrapolates"),
      flags.DEFINE_enum("precision", "float32", config_lib.PRECISIONS, "conv compute dtype"),
      flags.DEFINE_integer("photo_size", 1024, "side of the photo-transfer latency test (0: skip)"),
      flags.DEFINE_integer("matmul_size", 2048, "side of the square matmul that measures the "
                           "ceiling"),
      flags.DEFINE_integer("steps_per_call", 1, "training steps per compiled call (K); the "
                           "step times are per step"),
      flags.DEFINE_enum("train_time", "auto", ["auto", "real", "extrapolated"],
                        "how train_seconds is got; auto: real off CPU, extrapolated on CPU"),
      flags.DEFINE_string("json", None, "also write the results here as JSON"),
  ])


def main(argv):
  cli.no_arguments(argv)
  try:
    sizes = [int(s) for s in FLAGS.sizes]
  except ValueError:
    raise InputError(f"--sizes must be ints, got {FLAGS.sizes}") from None
  if not sizes or min(sizes) < 26 or FLAGS.channels < 2 or FLAGS.steps < 1:
    raise InputError("need --sizes > 25 (the coarsest level is 25 px), --channels >= 2 and "
                     "--steps >= 1")
  if FLAGS.steps_per_call < 1:
    raise InputError(f"--steps_per_call must be >= 1, got {FLAGS.steps_per_call}")
  # compile_seconds means compiling: a persistent-cache hit from an earlier run would hide it.
  jax.config.update("jax_enable_compilation_cache", False)
  results = speed.run(sizes, FLAGS.channels, FLAGS.steps, FLAGS.iters, FLAGS.precision,
                      FLAGS.photo_size, FLAGS.matmul_size, FLAGS.train_time,
                      FLAGS.steps_per_call)
  if FLAGS.json:
    files.write_atomic(FLAGS.json, json.dumps(results, indent=2) + "\n")
    print(f"wrote {FLAGS.json}")


if __name__ == "__main__":
  cli.run(main, define_flags, __doc__)
