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
from sinir_jax.core.errors import InputError
from sinir_jax.sinir import many
from sinir_jax.sinir import runs
from sinir_jax.zssr import trainer as zssr_trainer


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
  ``Model.super_resolve(lr, 4)``, the release's recipe; with ``back_projection_iters``, then
  back-projected (the models are shared with the run without)."""

  def __init__(self, config, batch_per_device=4, back_projection_iters=0):
    self.config, self.batch_per_device = config, batch_per_device
    self.bp_iters = back_projection_iters
    self.models_key = shuffle_key(config.shuffle_p)
    bp = f" + BP {back_projection_iters}" if back_projection_iters else ""
    self.key = self.models_key + (f"_bp{back_projection_iters}" if back_projection_iters else "")
    self.label, self.short = f"SinIR p={config.shuffle_p:g}{bp}", f"p={config.shuffle_p:g}{bp}"
    self.fields = {"shuffle_p": config.shuffle_p, "back_projection_iters": back_projection_iters}
    self.identity = runs.normalize_config(config.to_dict())
    self.normalize = runs.normalize_config
    flag_text = " ".join(f for f in config.to_flags() if not f.startswith("--shuffle_p="))
    self.note = (f"{self.label}: one model per LR image, `{flag_text}`; x4 with "
                 f"`Model.super_resolve`")

  def extra(self, hr):
    del hr
    return {}

  def run(self, todo, folder, report):
    models_dir = os.path.join(os.path.dirname(folder), self.models_key, "models")
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
      output = grids.to_uint8(model.super_resolve(lr, pairs_lib.SR_FACTOR,
                                                  back_projection_iters=self.bp_iters))
      yield pair, output, share + time.perf_counter() - start, None


class ZSSR:
  """ZSSR trained on each LR image alone (``sinir_jax.zssr``), x4 by its recipe (x2, then x4);
  with ``kernel_dir``, given each image's true kernel (``<name>.npy`` there), in one jump."""

  def __init__(self, config, kernel_dir=None):
    self.config, self.kernel_dir = config.replace(sr_factor=float(pairs_lib.SR_FACTOR)), kernel_dir
    self.key = "zssr_kernel" if kernel_dir else "zssr"
    self.label = "ZSSR, true kernel" if kernel_dir else "ZSSR"
    self.short = self.key
    self.fields = {}
    self.identity = {k: v for k, v in self.config.to_dict().items()
                     if k not in ("kernel", "log_every", "steps_per_call")}
    self.normalize = dict
    flag_text = " ".join(f for f in self.config.to_flags() if not f.startswith("--kernel="))
    self.note = f"{self.label}: `{flag_text}`" + (f", kernels from `{kernel_dir}`" if kernel_dir
                                                   else "")
    if kernel_dir:
      self.identity["kernel_dir"] = os.path.abspath(kernel_dir)

  def extra(self, hr):
    del hr
    return {}

  def kernel_of(self, pair):
    path = os.path.join(self.kernel_dir, f"{pair.name}.npy")
    if not os.path.exists(path):
      raise InputError(f"no kernel {path!r} for {pair.name}: --kernel_dir must hold "
                       f"<name>.npy for every image (python -m sinir_jax.degrade writes them)")
    return path

  def run(self, todo, folder, report):
    del folder
    for pair in todo:
      config = self.config
      try:
        if self.kernel_dir:
          config = config.replace(kernel=self.kernel_of(pair)).validate()
        lr, _ = pairs_lib.load_pair(pair)
        start = time.perf_counter()
        result = zssr_trainer.super_resolve(lr, config, report=lambda line: report(f"    {line}"))
      except InputError as e:
        yield pair, None, 0.0, str(e)
        continue
      yield pair, grids.to_uint8(result.image), time.perf_counter() - start, None
