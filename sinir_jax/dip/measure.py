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
  (None: the official F16 setting). Returns one row per image: {"name", "steps", "noisy",
  "final", "ema", "auto", "auto_step", "best", "best_step"} (PSNRs in dB; "auto" is None when
  the variance window never filled), after reporting each and their means."""
  rows = []
  for i, (name, clean) in enumerate(clean_images.items()):
    if isinstance(clean, (str, os.PathLike)):
      clean = images.load_image(clean)
    clean = np.asarray(clean, np.float32)
    noisy = add_noise(clean, sigma, seed + i)
    result = tasks.denoise(noisy, config, reference=clean,
                           report=lambda line, name=name: report(f"  {name}: {line}"))
    history = result.history["psnr"]
    rows.append({"name": name, "steps": result.steps, "noisy": psnr(noisy, clean),
                 "final": psnr(result.image, clean), "ema": psnr(result.ema, clean),
                 "auto": psnr(result.auto, clean) if result.auto is not None else None,
                 "auto_step": result.auto_step, "best": float(history.max()),
                 "best_step": int(history.argmax()) + 1})
    report(_line(rows[-1]))
  if rows:
    means = {key: np.mean([r[key] for r in rows if r[key] is not None] or [np.nan])
             for key in ("noisy", "final", "ema", "auto", "best")}
    report(_line({"name": f"mean of {len(rows)}", **means}))
  return rows


def _line(row):
  auto = "n/a" if row["auto"] is None else f"{row['auto']:.2f}"
  return (f"{row['name']}: noisy {row['noisy']:.2f} final {row['final']:.2f} ema "
          f"{row['ema']:.2f} auto {auto} best {row['best']:.2f} dB")
