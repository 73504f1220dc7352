"""Makes non-ideal x4 SR benchmark data: LR images from HR ones with random anisotropic Gaussian
kernels (seeded), each kernel saved (see ``sinir_jax.benchmarks.sr.degrade``).

  python -m sinir_jax.degrade --hr_dir=HR --out_dir=runs/bsd100_kernels [--seed=0] [--limit=N]

Writes OUT/HR, OUT/LR, OUT/kernels/<name>.npy and OUT/kernels.png; then
  python -m sinir_jax.evaluate sr --hr_dir=OUT/HR --lr_dir=OUT/LR --kernel_dir=OUT/kernels \\
      --method=zssr,zssr_kernel,sinir --workdir=...
"""
import os

from absl import flags

from sinir_jax.benchmarks.sr import degrade
from sinir_jax.core import cli
from sinir_jax.core.errors import InputError

FLAGS = flags.FLAGS


def define_flags(command):
  command.group("data", [
      flags.DEFINE_string("hr_dir", None, "folder of the high-resolution images"),
      flags.DEFINE_string("out_dir", None, "a new folder for HR/, LR/ and kernels/"),
      flags.DEFINE_integer("seed", 0, "the kernels' seed"),
      flags.DEFINE_integer("limit", None, "only the first N images (sorted by name)",
                           lower_bound=1),
  ])


def main(argv):
  cli.no_arguments(argv)
  if not FLAGS.hr_dir or not FLAGS.out_dir:
    raise InputError("pass --hr_dir=HR and --out_dir=DIR")
  if not os.path.isdir(FLAGS.hr_dir):
    raise InputError(f"--hr_dir {FLAGS.hr_dir!r} is not a folder")
  names = degrade.make_dataset(FLAGS.hr_dir, FLAGS.out_dir, seed=FLAGS.seed, limit=FLAGS.limit,
                               report=lambda line: print(line, flush=True))
  print(f"wrote {len(names)} LR images and kernels to {FLAGS.out_dir}")


if __name__ == "__main__":
  cli.run(main, define_flags, __doc__)
