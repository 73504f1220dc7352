"""The benchmark's scores of an SR output, and the bicubic baseline.

Every score comes from ``sinir_jax.core.metrics`` on 8-bit images (the saved PNGs): RMSE, SSIM
and MS-SSIM on RGB with no border crop (the SinIR paper's convention), PSNR and SSIM on the
luminance with a 4-pixel border crop (the SR literature's, e.g. ZSSR's table) and NIQE, under the
key names of ``tests/golden/bicubic_bsd100_dev.json``.
"""
from sinir_jax.benchmarks.sr.pairs import SR_FACTOR
from sinir_jax.core import grids
from sinir_jax.core import metrics
from sinir_jax.core import resampling

METRIC_KEYS = ("rmse_rgb", "ssim_rgb", "msssim_rgb", "psnr_y_c4", "ssim_y_c4", "niqe_y")


def score(output, hr):
  """The metrics of an 8-bit (H, W, 3) ``output`` against ``hr``: {key: float}."""
  return {
      "rmse_rgb": float(metrics.rmse(output, hr)),
      "ssim_rgb": float(metrics.ssim(output, hr)),
      "msssim_rgb": float(metrics.ms_ssim(output, hr)),
      "psnr_y_c4": float(metrics.psnr(output, hr, crop=4, y_only=True)),
      "ssim_y_c4": float(metrics.ssim(output, hr, crop=4, y_only=True)),
      "niqe_y": metrics.niqe(output),
  }


def bicubic_x4(lr):
  """Plain MATLAB-bicubic x4 upsampling of an LR image in [-1, 1], as 8-bit RGB."""
  size = (SR_FACTOR * lr.shape[0], SR_FACTOR * lr.shape[1])
  return grids.to_uint8(resampling.resize(lr, size, method="matlab"))
