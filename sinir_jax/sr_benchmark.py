"""The x4 super-resolution benchmark of the SinIR paper (Table 3), on any folder of HR/LR pairs.

Per LR image and per shuffle probability p: train one SinIR model on the LR image itself
(``many.train_many``, several images at once; the config's ``img_shape`` is not used), super-resolve it x4 with the release's
recipe (``Model.super_resolve(lr, 4)``) and score the result against the HR image; also score
plain MATLAB-bicubic x4 upsampling of the same LR image. Every score comes from
``sinir_jax.metrics`` on 8-bit images (the saved PNGs): RMSE, SSIM and MS-SSIM on RGB with no
border crop (the paper's convention), PSNR and SSIM on the luminance with a 4-pixel border crop
(the usual SR convention) and NIQE, under the key names of ``tests/golden/bicubic_bsd100_dev.json``.

Pairing: an HR file and an LR file form a pair when their names agree once the extension and a
trailing tag are dropped: ``_HR`` or ``-HR`` on the HR side, ``_LR`` or ``-LR`` (any case), or
``x4`` right after a digit, on the LR side. BSD100's ``img_001_SRF_4_HR.png`` and
``img_001_SRF_4_LR.png`` pair as ``img_001_SRF_4`` (the SelfExSR layout of Set5, Set14, Urban100
too); DIV2K's ``0001.png`` and ``0001x4.png`` as ``0001``; identical names pair too. That shared
name names the image's folders. Files without a partner are left out (with a note).

Sizes: the HR image must be 4x the LR image, up to 3 extra pixels per side (an HR image whose
sides are not multiples of 4 next to an LR made from it by flooring); those extra bottom rows
and right columns are cropped from the HR image before scoring ("modcrop", the usual SR
convention), so the x4 output and the ground truth are the same size and nothing is resampled.

Layout of the workdir (a rerun skips every image whose ``sr_x4.png`` and ``metrics.json`` exist
and resumes a half-trained model from its checkpoints; an image whose model cannot be trained is
reported and left out, the others go on):

  bicubic/<name>/sr_x4.png, metrics.json   MATLAB-bicubic x4 and its scores (+ NIQE of the HR)
  p<p>/config.json                         the training config of this p (a rerun must match)
  p<p>/models/<name>/                      the training run (``sj.load_model`` loads it)
  p<p>/<name>/sr_x4.png, metrics.json      SinIR x4, its scores, seconds (its share of the
                                           batched training, + scoring)
  bicubic/ and p<p>/metrics.json, .csv     the scores of the run's images, one row each
  summary.md                               mean scores beside the paper's Table 3 rows
  tradeoff.png                             (several p) mean NIQE against mean RMSE per p
"""
import csv
import dataclasses
import json
import math
import os
import re
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sinir_jax import checkpoint
from sinir_jax import config as config_lib
from sinir_jax import io as io_lib
from sinir_jax import many
from sinir_jax import metrics
from sinir_jax import resampling
from sinir_jax import trainer
from sinir_jax import visualize

SR_FACTOR = 4
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
# Key names of tests/golden/bicubic_bsd100_dev.json.
METRIC_KEYS = ("rmse_rgb", "ssim_rgb", "msssim_rgb", "psnr_y_c4", "ssim_y_c4", "niqe_y")
_MS_SSIM_MIN_SIDE = 161  # metrics.ms_ssim: 4 halvings, then an 11 px window
_MODCROP_MAX = SR_FACTOR - 1
_HR_TAG = re.compile(r"[_-]hr$", re.IGNORECASE)
_LR_TAG = re.compile(r"[_-]lr$|(?<=\d)x4$", re.IGNORECASE)

# Spec section 7: the paper's Table 3 (4x SR, all 100 BSD100 images, RGB 0..255, no border crop):
# method, MS-SSIM, SSIM, RMSE, NIQE, as printed.
PAPER_TABLE3 = (
    ("Bicubic", "0.913", "0.642", "15.91", "7.70"),
    ("SinIR p=0.005", "0.915", "0.635", "16.28", "4.155"),
    ("SinIR p=0.0005 (release default)", "0.920", "0.632", "16.56", "3.647"),
    ("SinIR p=0.000005", "0.917", "0.621", "17.23", "3.402"),
    ("SinGAN", "0.913", "0.612", "16.21", "3.709"),
    ("SRGAN", "0.933", "0.640", "16.33", "3.407"),
    ("EDSR", "0.963", "0.743", "12.29", "6.498"),
)
PAPER_IMAGES = 100


@dataclasses.dataclass(frozen=True)
class Pair:
  """One benchmark image: its shared name, the paths of its HR and LR files, the LR's (h, w)."""
  name: str
  hr: str
  lr: str
  lr_size: tuple


def parse_shuffle_ps(text):
  """'0.005,0.0005' -> (0.005, 0.0005); InputError for anything but distinct numbers in [0, 1]."""
  hint = "pass one probability in [0, 1] or a comma-separated list such as 0.005,0.0005"
  try:
    ps = tuple(float(s) for s in text.split(","))
  except ValueError:
    raise io_lib.InputError(f"bad --shuffle_p {text!r}: {hint}") from None
  if not all(0 <= p <= 1 for p in ps):  # also refuses nan
    raise io_lib.InputError(f"bad --shuffle_p {text!r}: {hint}")
  if len(set(ps)) != len(ps):
    raise io_lib.InputError(f"bad --shuffle_p {text!r}: a value is repeated; {hint}")
  return ps


def shuffle_tag(p):
  """The folder of one shuffle probability: 0.0005 -> 'p0.0005', 5e-07 -> 'p5e-07'."""
  return f"p{float(p)!r}"


def _image_files(directory, what):
  if not directory or not os.path.isdir(directory):
    raise io_lib.InputError(f"--{what}_dir {directory!r} is not a folder: pass the folder of "
                            f"the {what.upper()} images")
  return sorted(f for f in os.listdir(directory) if not f.startswith(".")
                and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS)


def _by_key(directory, what, tag):
  """{name: path} of the images in ``directory``, names without their HR/LR tag."""
  found = {}
  for filename in _image_files(directory, what):
    stem = os.path.splitext(filename)[0]
    key = tag.sub("", stem) or stem
    if key in found:
      raise io_lib.InputError(
          f"{os.path.basename(found[key])!r} and {filename!r} in --{what}_dir both name image "
          f"{key!r}: keep one")
    found[key] = os.path.join(directory, filename)
  return found


def find_pairs(hr_dir, lr_dir, limit=None, report=print):
  """The HR/LR pairs of two folders (module docstring), sorted by name, the first ``limit``.

  Raises:
    InputError: a missing folder, no pair, or a pair whose sizes are not x4 apart.
  """
  hr_files, lr_files = _by_key(hr_dir, "hr", _HR_TAG), _by_key(lr_dir, "lr", _LR_TAG)
  names = sorted(set(hr_files) & set(lr_files))
  if not names:
    raise io_lib.InputError(
        f"no HR/LR pairs: {len(hr_files)} image(s) in {hr_dir!r} and {len(lr_files)} in "
        f"{lr_dir!r}, none with matching names (e.g. img_001_HR.png and img_001_LR.png)")
  unpaired = len(set(hr_files) ^ set(lr_files))
  if unpaired:
    report(f"note: {unpaired} image(s) without a partner are left out")
  return [_checked_pair(name, hr_files[name], lr_files[name]) for name in names[:limit]]


def _checked_pair(name, hr_path, lr_path):
  """The Pair, or InputError unless the HR image is x4 the LR one (up to the modcrop margin)."""
  (h, w), (hh, hw) = (io_lib.load_image(path).shape[:2] for path in (lr_path, hr_path))
  if not all(0 <= big - SR_FACTOR * small <= _MODCROP_MAX for big, small in ((hh, h), (hw, w))):
    raise io_lib.InputError(
        f"{os.path.basename(hr_path)!r} is {hh}x{hw} but {os.path.basename(lr_path)!r} is "
        f"{h}x{w}: the HR image must be {SR_FACTOR}x the LR one (up to {_MODCROP_MAX} extra "
        f"pixels per side)")
  if min(h, w) * SR_FACTOR < _MS_SSIM_MIN_SIDE:
    raise io_lib.InputError(
        f"{os.path.basename(lr_path)!r} is {h}x{w}: MS-SSIM needs x{SR_FACTOR} outputs of at "
        f"least {_MS_SSIM_MIN_SIDE} px a side, so LR images of at least "
        f"{-(-_MS_SSIM_MIN_SIDE // SR_FACTOR)} px")
  return Pair(name, hr_path, lr_path, (h, w))


def score(output, hr):
  """The benchmark's metrics of an 8-bit (H, W, 3) ``output`` against ``hr``: {key: float}."""
  return {
      "rmse_rgb": float(metrics.rmse(output, hr)),
      "ssim_rgb": float(metrics.ssim(output, hr)),
      "msssim_rgb": float(metrics.ms_ssim(output, hr)),
      "psnr_y_c4": float(metrics.psnr(output, hr, crop=4, y_only=True)),
      "ssim_y_c4": float(metrics.ssim(output, hr, crop=4, y_only=True)),
      "niqe_y": metrics.niqe(output),
  }


def _load_pair(pair):
  """(LR in [-1, 1], HR as uint8 cropped to x4 the LR's size)."""
  lr = io_lib.load_image(pair.lr)
  hr = visualize.to_uint8(io_lib.load_image(pair.hr))
  return lr, hr[:SR_FACTOR * lr.shape[0], :SR_FACTOR * lr.shape[1]]


def bicubic_x4(lr):
  """Plain MATLAB-bicubic x4 upsampling of an LR image in [-1, 1], as 8-bit RGB."""
  size = (SR_FACTOR * lr.shape[0], SR_FACTOR * lr.shape[1])
  return visualize.to_uint8(resampling.resize(lr, size, method="matlab"))


def _write_json(path, value):
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(value, f, indent=1)
  os.replace(tmp, path)


def _read_json(path):
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def _finish_image(folder, pair, output, record):
  """Writes ``sr_x4.png`` then ``metrics.json`` (last: its presence marks the image done)."""
  io_lib.save_image(os.path.join(folder, "sr_x4.png"), output.astype(np.float32) / 255 * 2 - 1)
  record = {"name": pair.name, "image": os.path.basename(pair.hr),
            "lr_image": os.path.basename(pair.lr), **record}
  _write_json(os.path.join(folder, "metrics.json"), record)
  return record


def _done(folder):
  """The stored record of a finished image, or None."""
  path = os.path.join(folder, "metrics.json")
  if os.path.exists(path) and os.path.exists(os.path.join(folder, "sr_x4.png")):
    return _read_json(path)
  return None


def _training_identity(config):
  """What must not change between runs into one p folder (JSON-normalised)."""
  values = {k: v for k, v in config.to_dict().items() if k not in config_lib.CADENCE_FIELDS}
  return json.loads(json.dumps(values))


def _claim_tag(folder, config):
  """Records the config of a p folder, or raises InputError if it holds another config's runs.

  A field the stored config lacks (one added to Config since) counts as its default.
  """
  path = os.path.join(folder, "config.json")
  identity = _training_identity(config)
  if os.path.exists(path):
    previous = _training_identity(config_lib.Config.from_dict(_read_json(path)))
    changed = sorted(k for k in set(previous) | set(identity)
                     if previous.get(k) != identity.get(k))
    if changed:
      raise io_lib.InputError(
          f"{folder!r} holds results of another config ({', '.join(changed)}): choose another "
          f"--workdir")
  os.makedirs(folder, exist_ok=True)
  _write_json(path, identity)


def _scores_line(record):
  return (f"RMSE {record['rmse_rgb']:.2f} SSIM {record['ssim_rgb']:.3f} "
          f"MS-SSIM {record['msssim_rgb']:.3f} NIQE {record['niqe_y']:.2f}")


def run_benchmark(hr_dir, lr_dir, workdir, config, shuffle_ps, *, limit=None,
                  batch_per_device=4, report=print):
  """Runs the x4 SR benchmark (module docstring) and writes its results under ``workdir``.

  Bicubic first, then for each p: the unfinished images' models through ``many.train_many``,
  then each image super-resolved and scored; the tables are rewritten after each image and
  compare the methods on the images every one has finished.

  Args:
    hr_dir, lr_dir: folders of the ground-truth and low-resolution images.
    workdir: results folder; a rerun continues where the last run stopped.
    config: the SinIR training ``Config`` (task sr); its ``shuffle_p`` and ``img_shape`` are
      replaced (by each of ``shuffle_ps``, and by None: each model trains on its LR image).
    shuffle_ps: shuffle probabilities; one model per image per value.
    limit: only the first ``limit`` pairs (sorted by name).
    batch_per_device: models trained at once on each device.
    report: called with each progress line.

  Returns:
    ({"bicubic": [record, ...], "p<p>": [record, ...]}, failures): each image's scores in pair
    order, and {"p<p> name": one-line reason} for the models that could not be trained.

  Raises:
    InputError: bad folders, pairs, config or workdir.
  """
  if config.task != "sr":
    raise io_lib.InputError(
        f"the sr benchmark trains with SinIR's SR recipe, not task {config.task!r}: pass "
        f"--flagfile=configs/sr.cfg (or configs/sr_cpu.cfg)")
  pairs = find_pairs(hr_dir, lr_dir, limit, report)
  if config.img_shape is not None and any(
      resampling.target_size(*pair.lr_size, config.img_shape) != pair.lr_size for pair in pairs):
    report(f"note: each model trains on its LR image at its own size; img_shape "
           f"{config.img_shape} is not used")
  configs = {shuffle_tag(p): config.replace(shuffle_p=p, img_shape=None).validate()
             for p in shuffle_ps}
  workdir = os.path.abspath(workdir)
  try:
    for tag, tag_config in configs.items():
      _claim_tag(os.path.join(workdir, tag), tag_config)
  except OSError as e:
    raise io_lib.InputError(f"cannot write to workdir {workdir!r} ({e.strerror}): choose a "
                            f"writable --workdir") from None
  report(f"{len(pairs)} image pair(s), shuffle p {', '.join(f'{p:g}' for p in shuffle_ps)}; "
         f"results in {workdir}")

  results = {tag: [] for tag in ("bicubic", *configs)}
  for i, pair in enumerate(pairs):
    results["bicubic"].append(_bicubic(workdir, pair, f"[{i + 1}/{len(pairs)}]", report))
  _write_tables(workdir, results, configs, hr_dir, lr_dir)
  failures = {}
  for tag, tag_config in configs.items():
    done = {pair.name: _done(os.path.join(workdir, tag, pair.name)) for pair in pairs}
    todo = [pair for pair in pairs if done[pair.name] is None]
    models_dir = os.path.join(workdir, tag, "models")
    summary = None
    if todo:
      report(f"p={tag_config.shuffle_p:g}: training {len(todo)} model(s)")
      summary = many.train_many({pair.name: pair.lr for pair in todo}, tag_config, models_dir,
                                batch_per_device=batch_per_device,
                                report=lambda line: report(f"    {line}"))
      for line in summary.lines():
        report(f"    {line}")
    for i, pair in enumerate(pairs):
      prefix = f"[{i + 1}/{len(pairs)}] p={tag_config.shuffle_p:g} {pair.name}"
      record = done[pair.name]
      if record is not None:
        report(f"{prefix}: skip (done: {_scores_line(record)})")
      elif pair.name in summary.failures:
        failures[f"{tag} {pair.name}"] = summary.failures[pair.name]
        report(f"{prefix}: failed: {summary.failures[pair.name]}")
        continue
      else:
        train_share = summary.seconds / max(len(summary.trained), 1)
        record = _sinir(os.path.join(workdir, tag, pair.name), os.path.join(models_dir, pair.name),
                        tag_config, pair, train_share)
        report(f"{prefix}: done in {trainer.format_seconds(record['seconds'])}: "
               f"{_scores_line(record)}")
      results[tag].append(record)
      _write_tables(workdir, results, configs, hr_dir, lr_dir)
  report(f"summary: {os.path.join(workdir, 'summary.md')}")
  return results, failures


def _bicubic(workdir, pair, prefix, report):
  folder = os.path.join(workdir, "bicubic", pair.name)
  record = _done(folder)
  if record is None:
    lr, hr = _load_pair(pair)
    output = bicubic_x4(lr)
    record = _finish_image(folder, pair, output,
                           {**score(output, hr), "niqe_y_hr": metrics.niqe(hr)})
    report(f"{prefix} bicubic {pair.name}: {_scores_line(record)}")
  return record


def _sinir(folder, model_dir, config, pair, train_seconds):
  start = time.perf_counter()
  model = checkpoint.load_model(model_dir)
  lr, hr = _load_pair(pair)
  output = visualize.to_uint8(model.super_resolve(lr, SR_FACTOR))
  scores = score(output, hr)
  return _finish_image(folder, pair, output, {
      **scores, "shuffle_p": config.shuffle_p,
      "seconds": train_seconds + time.perf_counter() - start})


def _write_tables(workdir, results, configs, hr_dir, lr_dir):
  """Rewrites each method's metrics.json and .csv, summary.md and (several p) tradeoff.png."""
  for tag, records in results.items():
    if not records:
      continue
    _write_json(os.path.join(workdir, tag, "metrics.json"), records)
    with open(os.path.join(workdir, tag, "metrics.csv"), "w", newline="", encoding="utf-8") as f:
      writer = csv.DictWriter(f, fieldnames=list(records[0]))
      writer.writeheader()
      writer.writerows(records)
  rows, n_common = mean_rows(results, configs)
  with open(os.path.join(workdir, "summary.md"), "w", encoding="utf-8") as f:
    f.write(summary_markdown(rows, n_common, configs, hr_dir, lr_dir))
  if len(configs) > 1 and n_common:
    tradeoff_plot([(row["label"], row["rmse_rgb"], row["niqe_y"], row["shuffle_p"] is None)
                   for row in rows], os.path.join(workdir, "tradeoff.png"),
                  f"x{SR_FACTOR} SR, means over {n_common} image(s)")


def mean_rows(results, configs):
  """Mean scores of each method over the images every method has finished: (rows, count).

  Each row (none when no image is common): label, shuffle_p (None for bicubic), the METRIC_KEYS
  means, and the means of niqe_y_hr (bicubic) and seconds (SinIR).
  """
  common = set.intersection(*({r["name"] for r in records} for records in results.values()))
  if not common:
    return [], 0
  rows = []
  for tag, records in results.items():
    records = [r for r in records if r["name"] in common]
    row = {"label": "Bicubic (MATLAB)" if tag == "bicubic" else
           f"SinIR p={configs[tag].shuffle_p:g}",
           "shuffle_p": None if tag == "bicubic" else configs[tag].shuffle_p}
    for key in (*METRIC_KEYS, "niqe_y_hr", "seconds"):
      if key in records[0]:
        row[key] = float(np.mean([r[key] for r in records]))
    rows.append(row)
  return rows, len(common)


def summary_markdown(rows, n_common, configs, hr_dir, lr_dir):
  """The summary table: our measured means, then the paper's Table 3 rows, clearly quoted."""
  config = next(iter(configs.values()))
  flags_text = " ".join(f for f in config.to_flags() if not f.startswith("--shuffle_p="))
  lines = [
      f"# x{SR_FACTOR} super-resolution benchmark (SinIR paper, Table 3)",
      "",
      f"- HR: `{os.path.abspath(hr_dir)}`; LR: `{os.path.abspath(lr_dir)}`",
      f"- Measured rows: means over the {n_common} image(s) that every measured method has "
      f"finished. The paper's rows average all {PAPER_IMAGES} BSD100 images.",
      f"- SinIR training (one model per LR image and p): `{flags_text}`; "
      f"x{SR_FACTOR} with `Model.super_resolve`.",
      "- MS-SSIM, SSIM, RMSE: RGB 0..255, no border crop (the paper's convention). NIQE: MATLAB "
      "luminance. PSNR-Y, SSIM-Y: luminance, 4-px border crop. Outputs rounded to 8 bits.",
      "",
      "| Method | Source | Images | MS-SSIM ↑ | SSIM ↑ | RMSE ↓ | NIQE ↓ | PSNR-Y c4 ↑ | "
      "SSIM-Y c4 ↑ | s / image |",
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ]
  for row in rows:
    seconds = f"{row['seconds']:.0f}" if "seconds" in row else "–"
    lines.append(
        f"| {row['label']} | ours, measured | {n_common} | {row['msssim_rgb']:.4f} | "
        f"{row['ssim_rgb']:.4f} | {row['rmse_rgb']:.3f} | {row['niqe_y']:.3f} | "
        f"{row['psnr_y_c4']:.3f} | {row['ssim_y_c4']:.4f} | {seconds} |")
  hr_niqe = [row["niqe_y_hr"] for row in rows if "niqe_y_hr" in row]
  if hr_niqe:
    lines.append(f"| HR ground truth | ours, measured | {n_common} | – | – | – | "
                 f"{hr_niqe[0]:.3f} | – | – | – |")
  for method, *values in PAPER_TABLE3:
    lines.append(f"| {method} | quoted from the paper (Table 3) | {PAPER_IMAGES} | "
                 f"{' | '.join(values)} | – | – | – |")
  lines += ["", "Quoted rows are copied from the SinIR paper (Yoo & Chen, ICML 2021, Table 3), "
            "not measured here.", ""]
  return "\n".join(lines)


def _nice_ticks(low, high, count=5):
  """Round tick values (steps of 1, 2 or 5 x 10^k) covering [low, high]."""
  raw = (high - low) / count
  magnitude = 10 ** math.floor(math.log10(raw))
  step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
  first = math.floor(low / step) * step
  ticks = [first + k * step for k in range(int(math.ceil((high - first) / step)) + 1)]
  return ticks, max(0, -math.floor(math.log10(step)))


def _padded_range(values):
  low, high = min(values), max(values)
  pad = (high - low) * 0.15 or max(abs(high) * 0.05, 0.05)
  return low - pad, high + pad


def tradeoff_plot(points, path, subtitle, size=(640, 480)):
  """Scatter of (label, mean RMSE, mean NIQE, is_reference) points: RMSE on x, NIQE on y, each
  labelled; reference points (bicubic) are red squares, the others blue discs."""
  width, height = size
  left, right, top, bottom = 72, 24, 48, 58
  font = ImageFont.load_default(size=13)
  sheet = Image.new("RGB", size, "white")
  draw = ImageDraw.Draw(sheet)
  (x_ticks, x_digits), (y_ticks, y_digits) = (
      _nice_ticks(*_padded_range([p[axis] for p in points])) for axis in (1, 2))
  x_lo, x_hi, y_lo, y_hi = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
  px = lambda x: left + (x - x_lo) / (x_hi - x_lo) * (width - left - right)
  py = lambda y: height - bottom - (y - y_lo) / (y_hi - y_lo) * (height - top - bottom)

  for x in x_ticks:
    draw.line([(px(x), top), (px(x), height - bottom)], fill=(228, 228, 228))
    draw.line([(px(x), height - bottom), (px(x), height - bottom + 5)], fill="black")
    draw.text((px(x), height - bottom + 8), f"{x:.{x_digits}f}", fill="black", font=font,
              anchor="mt")
  for y in y_ticks:
    draw.line([(left, py(y)), (width - right, py(y))], fill=(228, 228, 228))
    draw.line([(left - 5, py(y)), (left, py(y))], fill="black")
    draw.text((left - 8, py(y)), f"{y:.{y_digits}f}", fill="black", font=font, anchor="rm")
  draw.rectangle([left, top, width - right, height - bottom], outline="black")
  draw.text((width / 2, 8), "Perception-distortion trade-off (SinIR shuffle p)", fill="black",
            font=font, anchor="mt")
  draw.text((width / 2, 26), subtitle, fill=(90, 90, 90), font=font, anchor="mt")
  draw.text(((left + width - right) / 2, height - 8), "mean RMSE (lower: less distortion)",
            fill="black", font=font, anchor="mb")
  y_label = Image.new("RGB", (height - top - bottom, 18), "white")
  ImageDraw.Draw(y_label).text((y_label.width / 2, 9), "mean NIQE (lower: more natural)",
                               fill="black", font=font, anchor="mm")
  sheet.paste(y_label.rotate(90, expand=True), (6, top))

  for label, x, y, is_reference in points:
    cx, cy = px(x), py(y)
    if is_reference:
      draw.rectangle([cx - 5, cy - 5, cx + 5, cy + 5], fill=(200, 40, 40))
      color = (200, 40, 40)
    else:
      draw.ellipse([cx - 5, cy - 5, cx + 5, cy + 5], fill=(40, 80, 200))
      color = (40, 80, 200)
    anchor = "rm" if cx > (left + width - right) / 2 else "lm"
    draw.text((cx - 9 if anchor == "rm" else cx + 9, cy), label, fill=color, font=font,
              anchor=anchor)
  io_lib.save_image(path, np.asarray(sheet, np.float32) / 255 * 2 - 1)
