"""Deep Image Prior as a method of the x4 SR benchmark (``sinir_jax.benchmarks.sr.methods``'
interface): one fresh net per LR image, ``super_resolve(lr, 4)`` with the official x4 setting
unless the config says otherwise."""
import os
import time

from sinir_jax.benchmarks.sr import pairs as pairs_lib
from sinir_jax.core import grids
from sinir_jax.core.errors import InputError
from sinir_jax.dip import runs
from sinir_jax.dip import tasks
from sinir_jax.dip import trainer

RESULTS = ("final", "ema", "auto")


class DIP:
  """DIP x4 on each LR image. ``result``: which output is scored, the last step's ("final",
  the official result), the running average ("ema") or the early-stopping choice ("auto").
  Each image's run folder (curves with the PSNR against its HR image, which changes nothing,
  and snapshots) is ``<folder>/runs/<name>``."""

  def __init__(self, config=None, result="final"):
    if result not in RESULTS:
      raise InputError(f"unknown DIP result {result!r}: use one of {', '.join(RESULTS)}")
    self.config = tasks.task_config(config, "sr", sr_factor=pairs_lib.SR_FACTOR)
    if result == "auto" and not self.config.es_window:
      raise InputError("the auto result needs the early-stopping window: set es_window >= 2")
    self.result = result
    self.key = "dip" if result == "final" else f"dip_{result}"
    self.label = "DIP" if result == "final" else f"DIP ({result})"
    self.short = self.key
    self.fields = {}
    self.identity = runs.normalize_config(self.config.to_dict())
    self.normalize = runs.normalize_config
    self.note = (f"{self.label}: a fresh net per LR image, `{' '.join(self.config.to_flags())}`; "
                 f"the {result} output")

  def extra(self, hr):
    del hr
    return {}

  def run(self, todo, folder, report):
    for pair in todo:
      start = time.perf_counter()
      try:
        lr, hr = pairs_lib.load_pair(pair)
        reference = hr[..., :lr.shape[-1]] / 127.5 - 1  # 8-bit RGB, grey repeated
        result = tasks.super_resolve(
            lr, pairs_lib.SR_FACTOR, self.config, reference=reference,
            report=lambda line: report(f"    {line}"),
            workdir=os.path.join(folder, "runs", pair.name), overwrite=True)
      except (InputError, trainer.DIPDiverged) as e:
        yield pair, None, 0.0, str(e)
        continue
      output = {"final": result.image, "ema": result.ema, "auto": result.auto}[self.result]
      yield pair, grids.to_uint8(output), time.perf_counter() - start, None
