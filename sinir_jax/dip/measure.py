"""How well DIP denoising does without looking: on clean crops with synthetic Gaussian noise,
the PSNR of the noisy input, of the final output, of the running average (EMA), of the output
early stopping picks on its own (``early_stop``) and of the best step (an oracle that looks at
the ground truth, for comparison).

  from sinir_jax.dip import measure
  rows = measure.measure_denoising({"f16": "F16_GT.png"}, sigma=25, config=config)
"""
import os

import numpy as np

from sinir_jax.core import images
from sinir_jax.core import metrics
from sinir_jax.dip import tasks


def add_noise(clean, sigma, seed):
  """``clean`` ((H, W, C) in [-1, 1]) plus N(0, (sigma / 255) ** 2) on the [0, 1] scale,
  clipped to [0, 1] (the official notebook's noisy image), back in [-1, 1]."""
  rng = np.random.default_rng(seed)
  noisy = (clean + 1) / 2 + rng.normal(0, sigma / 255, clean.shape)
  return (np.clip(noisy, 0, 1) * 2 - 1).astype(np.float32)


def psnr(image, clean):
  """PSNR (dB, peak 255) of two (H, W, C) images in [-1, 1]."""
  return float(metrics.psnr((np.clip(image, -1, 1) + 1) * 127.5, (clean + 1) * 127.5))


def measure_denoising(clean_images, sigma=25, config=None, *, seed=0, report=print):
  """Denoises each clean image (``{name: (H, W, C) array in [-1, 1] or image path}``) after
  adding noise of ``sigma`` (0..255 scale; image i's noise from ``seed + i``) with ``config``
  (None: the official F16 setting). Returns one row per image (``denoise_one``'s), after
  reporting each and their means."""
  rows = []
  for i, (name, clean) in enumerate(clean_images.items()):
    if isinstance(clean, (str, os.PathLike)):
      clean = images.load_image(clean)
    clean = np.asarray(clean, np.float32)
    rows.append(denoise_one(name, clean, add_noise(clean, sigma, seed + i), config,
                            report=report)[0])
  if rows:
    report(line(mean_row(rows)))
  return rows


def denoise_one(name, clean, noisy, config=None, *, report=print, workdir=None):
  """DIP on ``noisy`` against its ``clean`` image: (row, ``DIPResult``), the row {"name",
  "steps", "noisy", "final", "ema", "auto", "auto_ema", "auto_step", "best", "best_step"}
  (PSNRs in dB; "auto" and "auto_ema" are None when the variance window never filled; "best" is the oracle that looks at
  the clean image) reported as one line."""
  result = tasks.denoise(noisy, config, reference=clean, workdir=workdir, overwrite=True,
                         report=lambda text: report(f"  {name}: {text}"))
  history = result.history["psnr"]
  row = {"name": name, "steps": result.steps, "noisy": psnr(noisy, clean),
         "final": psnr(result.image, clean), "ema": psnr(result.ema, clean),
         "auto": psnr(result.auto, clean) if result.auto is not None else None,
         "auto_ema": psnr(result.auto_ema, clean) if result.auto_ema is not None else None,
         "auto_step": result.auto_step, "best": float(history.max()),
         "best_step": int(history.argmax()) + 1}
  report(line(row))
  return row, result


def mean_row(rows):
  """The means of ``rows``' PSNRs (the auto columns over the rows that have them)."""
  return {"name": f"mean of {len(rows)}",
          **{key: float(np.mean([r[key] for r in rows if r.get(key) is not None] or [np.nan]))
             for key in ("noisy", "final", "ema", "auto", "auto_ema", "best")}}


def line(row):
  auto, auto_ema = ("n/a" if row[k] is None else f"{row[k]:.2f}" for k in ("auto", "auto_ema"))
  return (f"{row['name']}: noisy {row['noisy']:.2f} final {row['final']:.2f} ema "
          f"{row['ema']:.2f} auto {auto} auto_ema {auto_ema} best {row['best']:.2f} dB")
