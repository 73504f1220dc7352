"""Scores methods on a benchmark: x4 super-resolution (sr) or Gaussian denoising (denoise).

  python -m sinir_jax.evaluate sr --hr_dir=HR --lr_dir=LR_x4 --workdir=runs/bsd100 \\
      --flagfile=configs/sr.cfg [--method=sinir] [--limit=N] [--shuffle_p=0.005,0.0005,0.000005]
  python -m sinir_jax.evaluate denoise --hr_dir=HR --workdir=runs/denoise [--sigma=25] \\
      [--crop_size=128] [--limit=N] [--dip_FIELD=VALUE ...]

Super-resolves every LR image x4 with each method (MATLAB bicubic always, as the baseline;
sinir: one model per LR image and shuffle probability, several at once as
``sinir_jax.train_many`` does; zssr: ZSSR on each LR image, x2 then x4; zssr_kernel: ZSSR given
each image's true kernel from --kernel_dir, in one jump; dip: Deep Image Prior x4, the official
setting unless --dip_* flags say otherwise), scores each output against its HR image, and
writes the SR images, per-image metrics (CSV and JSON), WORKDIR/summary.md (every method run
into WORKDIR, beside the papers' rows), scores.png and, for two or more methods, tradeoff.png. Rerunning the
same command skips the finished images and resumes a half-trained model; an image a method
cannot do is reported and left out, and the command then exits 1. See
``sinir_jax.benchmarks.sr`` for how HR and LR files are paired and the workdir's layout.

denoise: Deep Image Prior (the official F16 setting unless --dip_* flags say otherwise) on the
centre crop of each --hr_dir image with seeded Gaussian noise; PSNRs of the noisy input and of
DIP's outputs in WORKDIR/summary.md, resumable (``sinir_jax.benchmarks.denoise``).
"""
import os
import sys

from absl import flags

from sinir_jax.benchmarks import denoise
from sinir_jax.benchmarks.sr import harness
from sinir_jax.benchmarks.sr import methods as methods_lib
from sinir_jax.core import cli
from sinir_jax.core.errors import InputError
from sinir_jax.dip import config as dip_config
from sinir_jax.dip import sr_method as dip_sr_method
from sinir_jax.sinir import config as config_lib
from sinir_jax.zssr import config as zssr_config

BENCHMARKS = ("sr", "denoise")
METHODS = ("bicubic", "sinir", "zssr", "zssr_kernel", "dip")
FLAGS = flags.FLAGS


def define_flags(command):
  command.group("benchmark", [
      flags.DEFINE_string("hr_dir", None, "folder of the high-resolution ground-truth images "
                          "(denoise: of the clean images)"),
      flags.DEFINE_string("lr_dir", None, "sr: folder of the x4 low-resolution input images"),
      flags.DEFINE_string("workdir", None, "results folder (a rerun continues there)"),
      flags.DEFINE_list("method", ["sinir"], f"methods to score, comma-separated: "
                        f"{', '.join(METHODS)} (bicubic, the baseline, is always scored)"),
      flags.DEFINE_integer("limit", None, "only the first N image pairs (sorted by name)",
                           lower_bound=1),
      flags.DEFINE_string("kernel_dir", None, "zssr_kernel: the true kernel of each image, "
                          "<name>.npy (python -m sinir_jax.degrade writes them)"),
  ])
  command.group("denoise", [
      flags.DEFINE_float("sigma", 25, "noise standard deviation on the 0..255 scale"),
      flags.DEFINE_integer("crop_size", 128, "side of each image's centre crop (0: the largest "
                           "centred square)", lower_bound=0),
      flags.DEFINE_integer("noise_seed", 0, "image i's noise comes from seed noise_seed + i"),
  ])
  command.group("sinir", [
      flags.DEFINE_string("shuffle_p", "0.0005", "probability that a pixel is shuffled; a "
                          "comma-separated list trains one model per image per value (the "
                          "perception-distortion sweep, paper Figure 8)"),
      flags.DEFINE_integer("batch_per_device", 4, "models trained at once on each device",
                           lower_bound=1),
      flags.DEFINE_list("sinir_back_projection_iters", ["0"], "back-project SinIR's result K "
                        "times (a list scores each; the models are shared)"),
  ])
  command.group("sinir training (sj.Config; configs/sr.cfg or configs/sr_cpu.cfg)",
                cli.define_config_flags(config_lib.Config, exclude=("shuffle_p",)))
  command.group("zssr and zssr_kernel (ZSSRConfig, prefixed; the factor is 4)",
                cli.define_config_flags(zssr_config.ZSSRConfig, prefix="zssr_",
                                        exclude=("sr_factor", "kernel")))
  command.group("dip (DIPConfig, prefixed; sr: factor 4, unset: the official x4 setting; "
                "denoise: unset: the official F16 setting)",
                [flags.DEFINE_enum("dip_result", "final", dip_sr_method.RESULTS,
                                   "the output scored: final | ema | auto")]
                + cli.define_config_flags(dip_config.DIPConfig, prefix="dip_",
                                          exclude=("task", "sr_factor")))


def main(argv):
  usage = ("python -m sinir_jax.evaluate sr --hr_dir=DIR --lr_dir=DIR --workdir=DIR, or "
           "denoise --hr_dir=DIR --workdir=DIR")
  if len(argv) != 2 or argv[1] not in BENCHMARKS:
    got = f"got {' '.join(argv[1:])!r}" if len(argv) > 1 else "got none"
    raise InputError(f"name one benchmark ({', '.join(BENCHMARKS)}), {got}: {usage}")
  if argv[1] == "denoise":
    return _denoise(usage)
  missing = [f"--{name}" for name in ("hr_dir", "lr_dir", "workdir") if not FLAGS[name].value]
  if missing:
    raise InputError(f"pass {', '.join(missing)}: {usage}")
  unknown = sorted(set(FLAGS.method) - set(METHODS))
  if unknown or not FLAGS.method:
    raise InputError(f"unknown --method {', '.join(unknown)}: use {', '.join(METHODS)}")
  if "zssr_kernel" in FLAGS.method and not FLAGS.kernel_dir:
    raise InputError("--method=zssr_kernel needs --kernel_dir=DIR (each image's <name>.npy)")
  if FLAGS.kernel_dir and not os.path.isdir(FLAGS.kernel_dir):
    raise InputError(f"--kernel_dir {FLAGS.kernel_dir!r} is not a folder")
  shuffle_ps = harness.parse_shuffle_ps(FLAGS.shuffle_p)
  report = lambda line: print(line, flush=True)
  methods = []
  if "sinir" in FLAGS.method:
    config = cli.config_from_flags(config_lib.Config, shuffle_p=shuffle_ps[0])
    try:
      bp_iters = tuple(int(k) for k in FLAGS.sinir_back_projection_iters)
    except ValueError:
      bp_iters = (-1,)
    if not bp_iters or min(bp_iters) < 0 or len(set(bp_iters)) != len(bp_iters):
      raise InputError(f"--sinir_back_projection_iters must be distinct counts >= 0, got "
                       f"{','.join(FLAGS.sinir_back_projection_iters)}")
    methods += harness.sinir_methods(config, shuffle_ps, FLAGS.batch_per_device, report,
                                     bp_iters)
  zssr = cli.config_from_flags(zssr_config.ZSSRConfig, prefix="zssr_", sr_factor=4.0)
  if "zssr" in FLAGS.method:
    methods.append(methods_lib.ZSSR(zssr))
  if "zssr_kernel" in FLAGS.method:
    methods.append(methods_lib.ZSSR(zssr, FLAGS.kernel_dir))
  if "dip" in FLAGS.method:
    methods.append(dip_sr_method.DIP(cli.config_from_flags(
        dip_config.DIPConfig, prefix="dip_", task="sr", sr_factor=4), result=FLAGS.dip_result))
  _, failures = harness.run_benchmark(FLAGS.hr_dir, FLAGS.lr_dir, FLAGS.workdir, methods,
                                      limit=FLAGS.limit, report=report)
  if failures:
    print(f"error: {len(failures)} image(s) could not be done and are left out of the tables: "
          f"{'; '.join(f'{k}: {v}' for k, v in sorted(failures.items()))}", file=sys.stderr)
    sys.exit(1)


def _denoise(usage):
  missing = [f"--{name}" for name in ("hr_dir", "workdir") if not FLAGS[name].value]
  if missing:
    raise InputError(f"pass {', '.join(missing)}: {usage}")
  config = cli.config_from_flags(dip_config.DIPConfig, prefix="dip_", task="denoise")
  denoise.run_benchmark(FLAGS.hr_dir, FLAGS.workdir, config, sigma=FLAGS.sigma,
                        crop_size=FLAGS.crop_size, limit=FLAGS.limit, seed=FLAGS.noise_seed,
                        report=lambda line: print(line, flush=True))


if __name__ == "__main__":
  cli.run(main, define_flags, __doc__)
