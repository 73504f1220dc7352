"""The Gaussian denoising benchmark: Deep Image Prior on seeded noisy crops of clean images.

Image i of the folder (sorted by name) gives its centre crop of ``crop_size`` pixels (the
whole image when ``crop_size`` is 0), plus N(0, sigma) noise on the 0..255 scale from seed
``seed + i``, clipped and rounded to 8 bits (the saved ``noisy.png`` is exactly what is
denoised, so a run of ``python -m sinir_jax.dip --task=denoise --image=noisy.png`` repeats it).
DIP denoises it; the PSNRs of the noisy input, the last step's output, the running average,
the early-stopping choice and the best step (an oracle that looks at the clean crop) are
tabulated.

Layout of the workdir (a rerun skips every image whose ``row.json`` exists; a workdir run
with another config, sigma, crop or seed is refused):

  config.json                        the DIP config and the benchmark's settings
  <name>/clean.png, noisy.png        the crop and its noisy version
  <name>/run/                        the DIP run folder (final.png, ema.png, auto.png, curves.png)
  <name>/row.json                    its PSNRs
  rows.json, summary.md              every finished image's row, and their means
"""
import json
import os
import time

import numpy as np

from sinir_jax.benchmarks.sr import pairs as pairs_lib
from sinir_jax.core import files
from sinir_jax.core import grids
from sinir_jax.core import images
from sinir_jax.core import loop
from sinir_jax.core.errors import InputError
from sinir_jax.dip import measure
from sinir_jax.dip import runs as dip_runs
from sinir_jax.dip import tasks

_COLUMNS = (("noisy", "noisy input"), ("final", "DIP (last step)"), ("ema", "DIP (average)"),
            ("auto", "DIP (early stop)"), ("auto_ema", "DIP (average at the early stop)"),
            ("best", "DIP (best step, oracle)"))


def clean_crops(image_dir, crop_size, limit=None):
  """{name: centre crop (H, W, C) in [-1, 1]} of the images of ``image_dir``, sorted by name."""
  if not image_dir or not os.path.isdir(image_dir):
    raise InputError(f"--hr_dir {image_dir!r} is not a folder: pass a folder of clean images")
  names = sorted(f for f in os.listdir(image_dir) if not f.startswith(".")
                 and os.path.splitext(f)[1].lower() in pairs_lib.IMAGE_EXTENSIONS)[:limit]
  if not names:
    raise InputError(f"--hr_dir {image_dir!r} holds no image")
  crops = {}
  for filename in names:
    image = images.load_image(os.path.join(image_dir, filename))
    h, w = image.shape[:2]
    size = crop_size or min(h, w)
    if size > min(h, w):
      raise InputError(f"{filename!r} is {h}x{w}, smaller than --crop_size={crop_size}: pass a "
                       f"smaller --crop_size (or 0 for the largest centred square)")
    top, left = (h - size) // 2, (w - size) // 2
    crops[os.path.splitext(filename)[0]] = image[top:top + size, left:left + size]
  return crops


def noisy_version(clean, sigma, seed):
  """``measure.add_noise`` rounded to 8 bits, as the saved PNG holds it."""
  return grids.to_uint8(measure.add_noise(clean, sigma, seed)).astype(np.float32) / 127.5 - 1


def run_benchmark(image_dir, workdir, config=None, *, sigma=25, crop_size=128, limit=None,
                  seed=0, report=print):
  """Denoises every crop (``module docstring``) with ``config`` (None: the official F16
  setting), resumably. Returns the rows of the finished images (``measure.denoise_one``'s,
  plus "seconds")."""
  if not sigma > 0:
    raise InputError(f"--sigma must be > 0, got {sigma}")
  if crop_size < 0:
    raise InputError(f"--crop_size must be >= 0 (0: the largest centred square), got {crop_size}")
  config = tasks.task_config(config, "denoise")
  crops = clean_crops(image_dir, crop_size, limit)
  _claim(workdir, {"dip": dip_runs.normalize_config(config.to_dict()), "sigma": sigma,
                   "crop_size": crop_size, "seed": seed})
  rows, computed, start = [], 0, time.perf_counter()
  for i, (name, clean) in enumerate(crops.items()):
    folder = os.path.join(workdir, name)
    prefix = f"[{i + 1}/{len(crops)}] {name}"
    row_path = os.path.join(folder, "row.json")
    if os.path.exists(row_path):
      rows.append(files.read_json(row_path))
      report(f"{prefix}: skip (done: {measure.line(rows[-1])})")
      continue
    noisy = noisy_version(clean, sigma, seed + i)
    images.save_image(os.path.join(folder, "clean.png"), clean)
    images.save_image(os.path.join(folder, "noisy.png"), noisy)
    began = time.perf_counter()
    row, _ = measure.denoise_one(name, clean, noisy, config, report=report,
                                 workdir=os.path.join(folder, "run"))
    row["seconds"] = time.perf_counter() - began
    files.write_json(row_path, row)
    rows.append(row)
    computed += 1  # skipped images cost nothing: they would dilute the ETA's time per image
    left = len(crops) - i - 1
    eta = (time.perf_counter() - start) / computed * left
    report(f"{prefix}: done in {loop.format_seconds(row['seconds'])}"
           + (f", ETA {loop.format_seconds(eta)}" if left else ""))
    _write_summary(workdir, rows, config, sigma, crop_size, seed)
  _write_summary(workdir, rows, config, sigma, crop_size, seed)
  return rows


def _claim(workdir, identity):
  path = os.path.join(workdir, "config.json")
  if os.path.exists(path) and files.read_json(path) != json.loads(json.dumps(identity)):
    raise InputError(f"{workdir!r} holds results of another config, sigma, crop or seed: choose "
                     f"another --workdir")
  files.write_json(path, identity)


def summary_markdown(rows, config, sigma, crop_size, seed):
  """The means of ``rows`` as a table, with how they were made."""
  mean = measure.mean_row(rows)
  seconds = np.mean([r["seconds"] for r in rows]) if rows else float("nan")
  crop = f"{crop_size}x{crop_size} centre crops" if crop_size else "largest centred squares"
  lines = [
      f"# Gaussian denoising, sigma {sigma:g}",
      "",
      f"- {len(rows)} image(s), {crop}, noise seeds {seed}.., rounded to 8 bits; PSNR on RGB "
      f"0..255 against the clean crop.",
      f"- DIP: `{' '.join(config.to_flags())}`; {seconds:.0f} s per image.",
      "",
      "| Output | PSNR (dB) | gain over the noisy input (dB) |",
      "|---|---:|---:|",
  ]
  for key, label in _COLUMNS:
    gain = "–" if key == "noisy" else f"{mean[key] - mean['noisy']:+.2f}"
    lines.append(f"| {label} | {mean[key]:.2f} | {gain} |")
  lines += ["", "| Image | steps | " + " | ".join(label for _, label in _COLUMNS)
            + " | early-stop step |", "|---|---:|" + "---:|" * (len(_COLUMNS) + 1)]
  for row in rows:
    cells = ["–" if row.get(key) is None else f"{row[key]:.2f}" for key, _ in _COLUMNS]
    lines.append(f"| {row['name']} | {row['steps']} | {' | '.join(cells)} | "
                 f"{row['auto_step'] or '–'} |")
  return "\n".join(lines) + "\n"


def _write_summary(workdir, rows, config, sigma, crop_size, seed):
  files.write_json(os.path.join(workdir, "rows.json"), rows)
  files.write_atomic(os.path.join(workdir, "summary.md"),
                     summary_markdown(rows, config, sigma, crop_size, seed))
