"""A seeded synthetic benchmark for Double-DIP's four tasks, scored against known truths (the
paper's data is not ours). From images in [-1, 1] of one size (crops of BSD100 dev images):

- separate: mixtures a1 A + (1 - a1) B and a2 A + (1 - a2) B of two images, a = (0.3, 0.7).
  Score: each recovered layer's PSNR against its truth (layers matched to truths by the better
  pairing); baseline: the better mixture's PSNR against that truth, and beside it the PSNR of a
  flat layer of the truth's mean colour (a layer not above it was not recovered).
- dehaze: I = t J + (1 - t) A with a smooth t in [0.35, 0.85] (a seeded low-frequency field)
  and a seeded bright airlight A. Score: PSNR of the dehazed image against J; baseline: the
  hazy input's.
- segment: a seeded ellipse of image B pasted on image A (binary mask). The trimap hint is the
  mask eroded (foreground) and the outside of the dilated mask (background), by 1/8 of the
  ellipse's smaller semi-axis; grey between. Score: IoU of the binary mask; baseline: the IoU
  of the trimap's foreground.
- watermark: a seeded ring-and-bar mark blended at 50% white into a known box; the hint is that
  box grown by 2 pixels. Score: PSNR inside the box after; baseline: before.

PSNRs are on [0, 1] (peak 1) over all channels. ``run_benchmark`` runs the cases and returns
the rows; ``python -m sinir_jax.dip.double.synthetic --images=a.png,b.png --output_dir=D``
prints them as a table and writes table.md, rows.json and each case's result files.
"""
import dataclasses
import json
import os
import time

from absl import flags
import numpy as np
from scipy import ndimage

from sinir_jax.core import cli
from sinir_jax.core import files
from sinir_jax.core import images as images_lib
from sinir_jax.core.errors import InputError
from sinir_jax.dip.double import config as config_lib
from sinir_jax.dip.double import outputs
from sinir_jax.dip.double import tasks

ALPHAS = (0.3, 0.7)
TASKS = ("segment", "separate", "dehaze", "watermark")


def psnr(a, b, where=None):
  """PSNR (peak 1) of two images in [-1, 1], over the pixels ``where`` ((H, W) bool)."""
  a, b = (np.asarray(a, np.float64) + 1) / 2, (np.asarray(b, np.float64) + 1) / 2
  if where is not None:
    a, b = a[where], b[where]
  return float(10 * np.log10(1 / max(np.mean(np.square(a - b)), 1e-12)))


def iou(a, b):
  a, b = np.asarray(a) > 0.5, np.asarray(b) > 0.5
  return float((a & b).sum() / max((a | b).sum(), 1))


def mixtures(a, b, alphas=ALPHAS):
  """The two mixtures of layers ``a`` and ``b``."""
  return tuple((alpha * a + (1 - alpha) * b).astype(np.float32) for alpha in alphas)


def smooth_field(size, rng, low=0.35, high=0.85):
  """A seeded smooth (H, W) field spanning [low, high]: a few low-frequency cosines."""
  h, w = size
  yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
  field = sum(rng.uniform(0.5, 1) * np.cos(2 * np.pi * (rng.uniform(0, 1.2) * xx
                                                         + rng.uniform(0, 1.2) * yy)
                                            + rng.uniform(0, 2 * np.pi)) for _ in range(3))
  field = (field - field.min()) / max(field.max() - field.min(), 1e-6)
  return (low + (high - low) * field).astype(np.float32)


def hazy(image, rng):
  """(hazy image, transmission (H, W), airlight (3,) in [0, 1]) of a clean image."""
  t = smooth_field(image.shape[:2], rng)
  airlight = rng.uniform(0.75, 0.95, 3).astype(np.float32)
  clean = (image + 1) / 2
  out = t[..., None] * clean + (1 - t[..., None]) * airlight
  return (out * 2 - 1).astype(np.float32), t, airlight


def composite(background, foreground, rng):
  """(composite, mask (H, W) in {0, 1}, trimap (H, W)): an ellipse of ``foreground`` on
  ``background``."""
  h, w = background.shape[:2]
  cy, cx = rng.uniform(0.4, 0.6) * h, rng.uniform(0.4, 0.6) * w
  ry, rx = rng.uniform(0.2, 0.3) * h, rng.uniform(0.2, 0.3) * w
  yy, xx = np.mgrid[:h, :w]
  mask = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1).astype(np.float32)
  band = max(1, int(min(ry, rx) / 8))
  inner = ndimage.binary_erosion(mask, iterations=band)
  outer = ndimage.binary_dilation(mask, iterations=band)
  trimap = np.where(inner, 1.0, np.where(outer, 0.5, 0.0)).astype(np.float32)
  image = mask[..., None] * foreground + (1 - mask[..., None]) * background
  return image.astype(np.float32), mask, trimap


def watermark(image, rng, opacity=0.5):
  """(marked image, box hint (H, W), the box as (top, left, bottom, right)): a ring and a bar
  blended towards white."""
  h, w = image.shape[:2]
  bh, bw = max(6, h // 3), max(8, w // 2)
  top, left = int(rng.integers(2, h - bh - 1)), int(rng.integers(2, w - bw - 1))
  yy, xx = np.mgrid[:bh, :bw]
  radius = np.hypot((yy - bh / 2) / (bh / 2), (xx - bw / 2) / (bw / 2))
  mark = ((np.abs(radius - 0.7) < 0.15) | (np.abs(yy - bh / 2) < max(1, bh / 12))).astype(
      np.float32)
  m = np.zeros((h, w), np.float32)
  m[top:top + bh, left:left + bw] = mark * opacity
  marked = image * (1 - m[..., None]) + m[..., None]
  box = (max(top - 2, 0), max(left - 2, 0), min(top + bh + 2, h), min(left + bw + 2, w))
  hint = np.zeros((h, w), np.float32)
  hint[box[0]:box[2], box[1]:box[3]] = 1
  return marked.astype(np.float32), hint, box


def _case(task, a, b, rng, config, report):
  """(row, the result, the grid's inputs) of one case."""
  if task == "separate":
    mix1, mix2 = mixtures(a, b)
    result = tasks.separate(mix1, mix2, config, report=report)
    pairs = [(result.layer1, result.layer2), (result.layer2, result.layer1)]
    layers = max(pairs, key=lambda p: psnr(p[0], a) + psnr(p[1], b))
    scores = [psnr(layers[0], a), psnr(layers[1], b)]
    baselines = [max(psnr(mix1, t), psnr(mix2, t)) for t in (a, b)]
    # A layer no closer to its truth than the truth's mean colour is was not recovered, whatever
    # the mixture baseline says: a low-contrast truth is close to a flat layer.
    flat = [psnr(np.broadcast_to(t.mean(axis=(0, 1)), t.shape), t) for t in (a, b)]
    row = {"metric": "layer PSNR (A, B)", "result": scores, "baseline": baselines, "flat": flat,
           "met": all(s > base for s, base in zip(scores, baselines))}
    return row, result, {"mixture 1": mix1, "mixture 2": mix2}
  if task == "dehaze":
    image, _, _ = hazy(a, rng)
    result = tasks.dehaze(image, config, report=report)
    score, base = psnr(result.dehazed, a), psnr(image, a)
    row = {"metric": "PSNR vs haze-free", "result": score, "baseline": base,
           "met": score >= base + 3}
    return row, result, {"hazy": image}
  if task == "segment":
    image, mask, trimap = composite(a, b, rng)
    result = tasks.segment(image, trimap, config, report=report)
    score = iou(result.mask, mask)
    row = {"metric": "mask IoU", "result": score, "baseline": iou(trimap >= 0.75, mask),
           "met": score >= 0.8}
    return row, result, {"composite": image, "trimap": trimap}
  image, hint, (top, left, bottom, right) = watermark(a, rng)
  result = tasks.remove_watermark(image, hint, config, report=report)
  inside = np.zeros(a.shape[:2], bool)
  inside[top:bottom, left:right] = True
  score, base = psnr(result.clean, a, inside), psnr(image, a, inside)
  row = {"metric": "PSNR inside the box", "result": score, "baseline": base,
         "met": score > base}
  return row, result, {"watermarked": image, "hint": hint}


def run_benchmark(images, config=None, *, tasks_=TASKS, seed=0, output_dir=None, cases=None,
                  report=print):
  """Runs each task on each consecutive pair (A, B) of ``images`` ((H, W, 3) in [-1, 1], one
  size; A alone for dehaze and watermark); ``config`` (its task ignored; None: the official
  settings); ``cases``: only the first that many of each task. Returns the rows: task, case,
  metric, result, baseline, met (the issue's target), seconds. ``output_dir``: each case's result
  files under TASK_CASE/, table.md, rows.json."""
  images = [np.asarray(x, np.float32) for x in images]
  if len(images) < 2 or len({x.shape for x in images}) != 1 or images[0].shape[-1] != 3:
    raise InputError("the benchmark needs at least two colour images of one size: crop them "
                     "first (--size)")
  config = config or config_lib.DoubleDIPConfig()
  rows = []
  for task in tasks_:
    for i, a in enumerate(images[:cases]):
      b = images[(i + 1) % len(images)]
      rng = np.random.default_rng([seed, i, TASKS.index(task)])
      start = time.perf_counter()
      row, result, inputs = _case(task, a, b, rng, config.replace(task=task), report)
      row = {"task": task, "case": i, **row, "seconds": time.perf_counter() - start}
      rows.append(row)
      report(format_row(row))
      if output_dir:
        folder = os.path.join(output_dir, f"{task}_{i}")
        os.makedirs(folder, exist_ok=True)
        outputs.write(folder, task, result, inputs, row)
  if output_dir:
    files.write_atomic(os.path.join(output_dir, "table.md"), table(rows))
    files.write_atomic(os.path.join(output_dir, "rows.json"), json.dumps(rows, indent=1))
  return rows


def _shown(value):
  return "/".join(f"{v:.3f}" for v in value) if isinstance(value, list) else f"{value:.3f}"


def _baseline(row):
  flat = f"; a flat layer of the truth's mean colour {_shown(row['flat'])}" if "flat" in row else ""
  return _shown(row["baseline"]) + flat


def format_row(row):
  return (f"{row['task']} case {row['case']}: {row['metric']} {_shown(row['result'])} "
          f"(baseline {_baseline(row)}) target {'met' if row['met'] else 'missed'} "
          f"in {row['seconds']:.0f} s")


def table(rows):
  """A markdown table of the rows."""
  lines = ["| task | case | metric | result | baseline | target | s |",
           "|---|---|---|---|---|---|---|"]
  lines += [f"| {r['task']} | {r['case']} | {r['metric']} | {_shown(r['result'])} | "
            f"{_baseline(r)} | {'met' if r['met'] else 'missed'} | "
            f"{r['seconds']:.0f} |" for r in rows]
  return "\n".join(lines) + "\n"


def load_crops(paths, size):
  """The centre (size, size) crops of the images at ``paths`` (colour, in [-1, 1])."""
  crops = []
  for path in paths:
    image = images_lib.load_image(path)
    h, w = image.shape[:2]
    if min(h, w) < size or image.shape[-1] != 3:
      raise InputError(f"{path!r} is {w}x{h}x{image.shape[-1]}: the benchmark needs colour "
                       f"images of at least {size}x{size}")
    top, left = (h - size) // 2, (w - size) // 2
    crops.append(image[top:top + size, left:left + size])
  return crops


def _define_flags(command):
  command.group("benchmark", [
      flags.DEFINE_list("images", None, "comma-separated image paths (at least two)"),
      flags.DEFINE_integer("size", 64, "the side of the centre crops"),
      flags.DEFINE_list("tasks", list(TASKS), "the tasks to run"),
      flags.DEFINE_integer("cases", None, "only the first N cases of each task (default: one "
                           "per image)", lower_bound=1),
      flags.DEFINE_string("output_dir", None, "where to write table.md, rows.json and the "
                          "cases' files (default: print only)"),
  ])
  command.group("Double-DIP", cli.define_config_flags(config_lib.DoubleDIPConfig,
                                                      exclude=("task",)))


def _main(argv):
  cli.no_arguments(argv)
  flags_ = flags.FLAGS
  if not flags_.images:
    raise InputError("pass --images: two or more image paths, comma-separated")
  unknown = [t for t in flags_.tasks if t not in TASKS]
  if unknown:
    raise InputError(f"unknown --tasks {unknown}: use some of {', '.join(TASKS)}")
  # Each task resolves and validates its own copy (its preset fills the None fields).
  fields = [f.name for f in dataclasses.fields(config_lib.DoubleDIPConfig) if f.name != "task"]
  config = config_lib.DoubleDIPConfig(**{name: flags_[name].value for name in fields})
  for task in flags_.tasks:
    config.replace(task=task).validate()
  rows = run_benchmark(load_crops(flags_.images, flags_.size), config, tasks_=flags_.tasks,
                       seed=config.seed, output_dir=flags_.output_dir, cases=flags_.cases,
                       report=lambda line: print(line, flush=True))
  print(table(rows), end="")


if __name__ == "__main__":
  cli.run(_main, _define_flags, __doc__)
