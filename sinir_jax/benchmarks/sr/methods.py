"""The methods the x4 SR benchmark scores. Adding one: a class with the attributes and ``run`` of
``Bicubic`` below, and its name in ``harness.METHODS``.

A method has
  key: its results folder under the workdir; label: its row in the tables; short: its tag in
  progress lines; note: a line for summary.md saying how it ran (or None);
  identity: what a rerun into that folder must match (None: nothing);
  fields: extra per-image values for its records (e.g. the shuffle probability);
  normalize(stored identity): what it compares with ``identity`` (e.g. new fields' defaults);
  extra(hr): more values for an image's record;
  run(pairs, folder, report): yields (pair, output, seconds, failure) per pair, output an 8-bit
  (H, W, 3) array or None with a one-line failure reason.
"""
import os
import time

from sinir_jax.benchmarks.sr import pairs as pairs_lib
from sinir_jax.benchmarks.sr import scoring
from sinir_jax.core import grids
from sinir_jax.core import metrics
from sinir_jax.sinir import many
from sinir_jax.sinir import runs


class Bicubic:
  """Plain MATLAB-bicubic x4 upsampling (the baseline; also records the HR image's NIQE)."""
  key, label, short, note, identity = "bicubic", "Bicubic (MATLAB)", "bicubic", None, None
  fields = {}

  def run(self, todo, folder, report):
    del folder, report
    for pair in todo:
      start = time.perf_counter()
      lr, _ = pairs_lib.load_pair(pair)
      yield pair, scoring.bicubic_x4(lr), time.perf_counter() - start, None

  def extra(self, hr):
    return {"niqe_y_hr": metrics.niqe(hr)}


def shuffle_key(p):
  """The folder of one shuffle probability: 0.0005 -> 'p0.0005', 5e-07 -> 'p5e-07'."""
  return f"p{float(p)!r}"


class SinIR:
  """SinIR trained on each LR image (``train_many``: several at once), then
  ``Model.super_resolve(lr, 4)``, the release's recipe."""

  def __init__(self, config, batch_per_device=4):
    self.config, self.batch_per_device = config, batch_per_device
    self.key = shuffle_key(config.shuffle_p)
    self.label, self.short = f"SinIR p={config.shuffle_p:g}", f"p={config.shuffle_p:g}"
    self.fields = {"shuffle_p": config.shuffle_p}
    self.identity = runs.normalize_config(config.to_dict())
    self.normalize = runs.normalize_config
    flag_text = " ".join(f for f in config.to_flags() if not f.startswith("--shuffle_p="))
    self.note = (f"{self.label}: one model per LR image, `{flag_text}`; x4 with "
                 f"`Model.super_resolve`")

  def extra(self, hr):
    del hr
    return {}

  def run(self, todo, folder, report):
    models_dir = os.path.join(folder, "models")
    report(f"{self.short}: training {len(todo)} model(s)")
    summary = many.train_many({pair.name: pair.lr for pair in todo}, self.config, models_dir,
                              batch_per_device=self.batch_per_device,
                              report=lambda line: report(f"    {line}"))
    for line in summary.lines():
      report(f"    {line}")
    share = summary.seconds / max(len(summary.trained), 1)
    for pair in todo:
      if pair.name in summary.failures:
        yield pair, None, 0.0, summary.failures[pair.name]
        continue
      start = time.perf_counter()
      model = runs.load_model(os.path.join(models_dir, pair.name))
      lr, _ = pairs_lib.load_pair(pair)
      output = grids.to_uint8(model.super_resolve(lr, pairs_lib.SR_FACTOR))
      yield pair, output, share + time.perf_counter() - start, None
