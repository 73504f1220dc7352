"""Deep Image Prior's run folders (a ``core.rundir.RunDir``: locked, with an identity):

  config.json, flags.cfg     the resolved config and the observation's digest; the flags of the run
  metrics.jsonl              one record per log step, then the result's
  previews/step_000500.png   snapshots of the output, and step_000500_ema.png of its average
  final.png, ema.png, auto.png, auto_ema.png
                                 the result images (auto: the early-stopping choice; auto_ema:
                                 the running average at that step)
  curves.png                 PSNRs per step (fit, and against the reference) and the loss

A run always starts from scratch; nothing is resumed. A folder that holds the same run (same
config and observation) is reused: the files of the earlier attempt are removed first. A folder
that holds another run is refused unless ``overwrite``. A run keeps no checkpoints.
"""
import hashlib
import os
import shutil

from sinir_jax.core import files
from sinir_jax.core import images
from sinir_jax.core import plots
from sinir_jax.core import rundir
from sinir_jax.dip import config as config_lib

_OUTPUTS = ("metrics.jsonl", "final.png", "ema.png", "auto.png", "auto_ema.png", "curves.png")


def normalize_config(values):
  """What must match for a folder to be reused: the config without its cadences."""
  config = config_lib.DIPConfig.from_dict(values).to_dict()
  return {k: v for k, v in config.items() if k not in config_lib.CADENCE_FIELDS}


def open_run(workdir, problem, config, flag_lines=None, overwrite=False):
  """The locked ``RunDir`` of fitting ``problem`` with ``config``, emptied of an earlier
  attempt's outputs; ``flag_lines`` (default: the config's flags) go to flags.cfg."""
  digest = hashlib.sha256(problem.target.tobytes() + problem.weight.tobytes()).hexdigest()
  identity = {"config": config.to_dict(), "image_sha256": digest}
  run = rundir.RunDir(workdir, identity, flag_lines or config.to_flags(),
                      normalize_config=normalize_config, overwrite=overwrite, checkpoints=False)
  for name in _OUTPUTS:
    if os.path.lexists(run.file(name)):
      os.remove(run.file(name))
  shutil.rmtree(run.file("previews"), ignore_errors=True)
  return run


def write_snapshot(run, step, image, ema):
  images.save_image(run.file("previews", f"step_{step:06d}.png"), image)
  images.save_image(run.file("previews", f"step_{step:06d}_ema.png"), ema)


def curves_figure(history, title):
  """PSNRs (dB) per step on the left axis, the loss on a log axis on the right."""
  steps = range(1, len(history["loss"]) + 1)
  series = {"fit to the observation (-10 log10 loss)": (steps, history["fit_psnr"])}
  if "psnr" in history:
    series["PSNR vs reference"] = (steps, history["psnr"])
    series["PSNR of the average vs reference"] = (steps, history["psnr_ema"])
  figure = plots.curves(series, title=title, xlabel="step", ylabel="dB")
  loss_axes = figure.axes[0].twinx()
  loss_axes.plot(steps, history["loss"], color="grey", linewidth=0.8, alpha=0.6)
  loss_axes.set(yscale="log", ylabel="loss (MSE, grey)")
  return figure


def write_results(run, result, problem, seconds):
  """The result images, curves.png and the result's record in metrics.jsonl."""
  images.save_image(run.file("final.png"), result.image)
  images.save_image(run.file("ema.png"), result.ema)
  if result.auto is not None:
    images.save_image(run.file("auto.png"), result.auto)
    images.save_image(run.file("auto_ema.png"), result.auto_ema)
  title = f"Deep Image Prior, {problem.task}: {result.steps} steps"
  files.write_atomic(run.file("curves.png"),
                     plots.to_png(curves_figure(result.history, title)))
  record = {"result": True, "steps": result.steps, "stopped_early": result.stopped_early,
            "auto_step": result.auto_step, "seconds": seconds,
            "backtracked": int(result.history["backtracked"].sum())}
  if "psnr" in result.history:
    psnr = result.history["psnr"]
    record.update(final_psnr=float(psnr[-1]), final_psnr_ema=float(result.history["psnr_ema"][-1]),
                  best_psnr=float(psnr.max()), best_psnr_step=int(psnr.argmax()) + 1)
    if result.auto_step:
      record["auto_psnr"] = float(psnr[result.auto_step - 1])
      record["auto_psnr_ema"] = float(result.history["psnr_ema"][result.auto_step - 1])
  run.log(record)
