"""The SR benchmark's tables and plots: per-method metrics files, summary.md with published rows
quoted beside ours, scores.png (bars per metric) and tradeoff.png (NIQE against RMSE)."""
import csv
import io
import os

import numpy as np

from sinir_jax.benchmarks.sr.scoring import METRIC_KEYS
from sinir_jax.core import files
from sinir_jax.core import plots

# The SinIR paper's Table 3 (x4 SR, all 100 BSD100 images, RGB 0..255, no border crop), as
# printed (spec section 7).
SINIR_TABLE3 = [
    {"label": label, "msssim_rgb": ms, "ssim_rgb": ss, "rmse_rgb": rmse, "niqe_y": niqe}
    for label, ms, ss, rmse, niqe in (
        ("Bicubic", "0.913", "0.642", "15.91", "7.70"),
        ("SinIR p=0.005", "0.915", "0.635", "16.28", "4.155"),
        ("SinIR p=0.0005 (release default)", "0.920", "0.632", "16.56", "3.647"),
        ("SinIR p=0.000005", "0.917", "0.621", "17.23", "3.402"),
        ("SinGAN", "0.913", "0.612", "16.21", "3.709"),
        ("SRGAN", "0.933", "0.640", "16.33", "3.407"),
        ("EDSR", "0.963", "0.743", "12.29", "6.498"),
    )]
# The ZSSR paper's Table 1 (x4, all 100 BSD100 images, PSNR / SSIM on Y, borders cropped by the
# factor), as the issue that asked for ZSSR quotes it.
ZSSR_TABLE1 = [{"label": "Bicubic", "psnr_y_c4": "25.96", "ssim_y_c4": "0.6675"},
               {"label": "ZSSR", "psnr_y_c4": "27.12", "ssim_y_c4": "0.7211"}]
QUOTED = [("quoted: SinIR paper, Table 3", 100, SINIR_TABLE3),
          ("quoted: ZSSR paper, Table 1", 100, ZSSR_TABLE1)]
_COLUMNS = (("msssim_rgb", "MS-SSIM ↑", 4), ("ssim_rgb", "SSIM ↑", 4), ("rmse_rgb", "RMSE ↓", 3),
            ("niqe_y", "NIQE ↓", 3), ("psnr_y_c4", "PSNR-Y c4 ↑", 3),
            ("ssim_y_c4", "SSIM-Y c4 ↑", 4))


def mean_rows(methods):
  """Mean scores of each method over the images every method has finished: (rows, count).

  Args:
    methods: [(descriptor, records)], descriptor a dict with "key", "label" and optionally
      "shuffle_p"; records the per-image score dicts.

  Each row (none when no image is common): the descriptor's fields, the METRIC_KEYS means, and
  the means of niqe_y_hr and seconds where the records have them.
  """
  names = [{r["name"] for r in records} for _, records in methods]
  common = set.intersection(*names) if names else set()
  if not common:
    return [], 0
  rows = []
  for descriptor, records in methods:
    records = [r for r in records if r["name"] in common]
    row = dict(descriptor)
    for key in (*METRIC_KEYS, "niqe_y_hr", "seconds"):
      if key in records[0]:
        row[key] = float(np.mean([r[key] for r in records]))
    rows.append(row)
  return rows, len(common)


def summary_markdown(rows, n_common, hr_dir, lr_dir, notes=()):
  """The summary table: our measured means, then published rows, clearly quoted."""
  header = "| Method | Source | Images | " + " | ".join(c[1] for c in _COLUMNS) + " | s / image |"
  lines = [
      "# x4 super-resolution benchmark",
      "",
      f"- HR: `{os.path.abspath(hr_dir)}`; LR: `{os.path.abspath(lr_dir)}`",
      f"- Measured rows: means over the {n_common} image(s) that every measured method has "
      f"finished. Quoted rows are copied from the papers (their own images and recipes), not "
      f"measured here.",
      *(f"- {note}" for note in notes),
      "- MS-SSIM, SSIM, RMSE: RGB 0..255, no border crop (the SinIR paper's convention). NIQE: "
      "MATLAB luminance. PSNR-Y, SSIM-Y: luminance, 4-px border crop. Outputs rounded to 8 bits.",
      "",
      header,
      "|---|---|---:|" + "---:|" * (len(_COLUMNS) + 1),
  ]
  for row in rows:
    cells = [f"{row[key]:.{digits}f}" if key in row else "–" for key, _, digits in _COLUMNS]
    seconds = f"{row['seconds']:.0f}" if "seconds" in row and row["key"] != "bicubic" else "–"
    lines.append(f"| {row['label']} | ours, measured | {n_common} | {' | '.join(cells)} | "
                 f"{seconds} |")
  hr_niqe = [row["niqe_y_hr"] for row in rows if "niqe_y_hr" in row]
  if hr_niqe:
    cells = [f"{hr_niqe[0]:.3f}" if key == "niqe_y" else "–" for key, _, _ in _COLUMNS]
    lines.append(f"| HR ground truth | ours, measured | {n_common} | {' | '.join(cells)} | – |")
  for source, images, quoted in QUOTED:
    for row in quoted:
      cells = [row.get(key, "–") for key, _, _ in _COLUMNS]
      lines.append(f"| {row['label']} | {source} | {images} | {' | '.join(cells)} | – |")
  return "\n".join(lines) + "\n"


def tradeoff_figure(rows, subtitle):
  """NIQE against RMSE of every measured method (bicubic as the reference)."""
  points = [(row["label"], row["rmse_rgb"], row["niqe_y"], row["key"] == "bicubic")
            for row in rows]
  return plots.scatter(points, title="Perception-distortion trade-off", subtitle=subtitle,
                       xlabel="mean RMSE (lower: less distortion)",
                       ylabel="mean NIQE (lower: more natural)")


def scores_figure(rows, subtitle):
  """Bars of PSNR-Y, SSIM-Y and NIQE per measured method."""
  values = {name: {row["label"]: row[key] for row in rows}
            for key, name in (("psnr_y_c4", "PSNR-Y c4"), ("ssim_y_c4", "SSIM-Y c4"),
                              ("niqe_y", "NIQE"))}
  return plots.bars(values, title=f"x4 SR, {subtitle}",
                    ylabels={"PSNR-Y c4": "dB (higher: better)", "SSIM-Y c4": "higher: better",
                             "NIQE": "lower: more natural"})


def write(workdir, methods, hr_dir, lr_dir, notes=()):
  """Rewrites each method's metrics.json and .csv, summary.md, scores.png and, with two or more
  methods besides bicubic, tradeoff.png.

  Args:
    methods: [(descriptor, records)] as ``mean_rows`` takes them.
  """
  for descriptor, records in methods:
    if not records:
      continue
    folder = os.path.join(workdir, descriptor["key"])
    files.write_json(os.path.join(folder, "metrics.json"), records)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(records[0]))
    writer.writeheader()
    writer.writerows(records)
    files.write_atomic(os.path.join(folder, "metrics.csv"), text.getvalue())
  rows, n_common = mean_rows(methods)
  files.write_atomic(os.path.join(workdir, "summary.md"),
                     summary_markdown(rows, n_common, hr_dir, lr_dir, notes))
  if not n_common:
    return
  subtitle = f"means over {n_common} image(s)"
  files.write_atomic(os.path.join(workdir, "scores.png"),
                     plots.to_png(scores_figure(rows, subtitle)))
  if sum(row["key"] != "bicubic" for row in rows) >= 2:
    files.write_atomic(os.path.join(workdir, "tradeoff.png"),
                       plots.to_png(tradeoff_figure(rows, f"x4 SR, {subtitle}")))
