"""SinIR's run folders (``sinir_jax.core.rundir``): their identity, what a finished scale saves,
the pictures of a run, and ``load_model``."""
import hashlib
import os

import jax.numpy as jnp
import numpy as np

from sinir_jax.core import files
from sinir_jax.core import grids
from sinir_jax.core import images
from sinir_jax.core import plots
from sinir_jax.core import resampling
from sinir_jax.core import rundir
from sinir_jax.core.errors import InputError
from sinir_jax.sinir import cascade
from sinir_jax.sinir import config as config_lib
from sinir_jax.sinir import network


def normalize_config(values):
  """What must match for a rerun to continue a run: the config without its cadences, through
  ``Config`` (a run written before a field existed compares as that field's default)."""
  config = config_lib.Config.from_dict(values).to_dict()
  return {k: v for k, v in config.items() if k not in config_lib.CADENCE_FIELDS}


def open_run(image, levels, config, workdir, overwrite=False):
  """The locked ``RunDir`` of training ``image`` (path or array, pyramid ``levels``) in
  ``workdir``: its identity is the config and the finest level's digest, and its flags.cfg
  re-runs it."""
  digest = hashlib.sha256(np.asarray(levels[-1]).tobytes()).hexdigest()
  flag_lines = config.to_flags()
  if isinstance(image, (str, os.PathLike)):
    flag_lines = [f"--image={os.path.abspath(image)}",
                  f"--workdir={os.path.abspath(workdir)}"] + flag_lines
  return rundir.RunDir(workdir, {"config": config.to_dict(), "image_sha256": digest}, flag_lines,
                       normalize_config=normalize_config, overwrite=overwrite)


def save_finished_scale(run, scale, params, plan, config, channels, seconds):
  """Checkpoints a finished scale with what ``load_model`` needs, drops its mid-scale
  checkpoints and logs its time."""
  run.save_finished(scale, params, {"factor": plan.factor, "sizes": plan.sizes,
                                    "channels": channels, "num_scales": plan.num_scales,
                                    "config": config.to_dict()})
  run.drop_partial()
  run.log({"scale": scale, "seconds": seconds, "size": list(plan.sizes[scale])})


def load_model(workdir):
  """Loads the finished scales of the run in ``workdir`` as a ``Model``.

  A run stopped part-way loads as the cascade of its finished scales. A damaged or incomplete
  checkpoint is refused (``InputError`` naming the scale and what to do), never loaded.
  """
  def abstract(meta):
    config = config_lib.Config.from_dict(meta["config"])
    return network.abstract_params(config.net_ch, int(meta["channels"]))

  params, meta = rundir.read_finished(workdir, abstract)
  config = config_lib.Config.from_dict(meta["config"])
  sizes = tuple(tuple(s) for s in meta["sizes"][:len(params)])
  if len(sizes) != len(params):
    raise InputError(f"workdir {workdir!r}: the metadata of scale {len(params) - 1} lists "
                     f"{len(sizes)} sizes: rerun the training command to retrain it")
  return cascade.Model(tuple(params), config, meta["factor"], sizes, int(meta["channels"]))


def write_pyramid(run, levels, sizes):
  """previews/pyramid.png: the training pyramid, labelled with each level's size."""
  images.save_image(run.file("previews", "pyramid.png"), grids.grid(
      [lv[0] for lv in levels], [f"{h}x{w}" for h, w in sizes]))


def write_preview(run, scale, target, recon, step=None):
  """previews/scale_SS[_step_NNNNN].png: a scale's target beside its reconstruction."""
  name = f"scale_{scale:02d}" + ("" if step is None else f"_step_{step:05d}") + ".png"
  images.save_image(run.file("previews", name),
                    grids.grid([target, recon], ["target", "reconstruction"]))


def write_results(run, recons):
  """reconstruction.png (the finest scale's), reconstructions.png (every scale's) and loss.png
  (the loss of every scale over its steps, from metrics.jsonl)."""
  images.save_image(run.file("reconstruction.png"), recons[-1])
  images.save_image(run.file("reconstructions.png"), grids.grid(
      recons, [f"scale {k}" for k in range(len(recons))], columns=min(len(recons), 6)))
  curves = loss_curves(run.file("metrics.jsonl"))
  if curves:
    losses = [loss for _, ys in curves.values() for loss in ys]
    files.write_atomic(run.file("loss.png"), plots.to_png(plots.curves(
        curves, title="training loss per scale", xlabel="step", ylabel="loss (MSE + 1 - SSIM)",
        log_y=min(losses) > 0 and max(losses) / min(losses) > 10)))


def loss_curves(metrics_path):
  """{"scale k": (steps, losses)} of the logged steps in a run's metrics.jsonl (the last record
  of a step wins, so a resumed run's repeated steps count once)."""
  per_scale = {}
  for record in files.read_jsonl(metrics_path):
    if "loss" in record and "scale" in record and "step" in record:
      per_scale.setdefault(record["scale"], {})[record["step"]] = record["loss"]
  return {f"scale {scale}": (sorted(steps), [steps[s] for s in sorted(steps)])
          for scale, steps in sorted(per_scale.items())}


def next_reconstruction(net, params, recons, coarsest, sizes, method):
  """Scale n's reconstruction: net n on the previous one resized (no shuffling)."""
  x = coarsest if not recons else resampling.resize(
      jnp.asarray(recons[-1])[None], sizes[len(recons)], method)
  return np.asarray(cascade.stage(net, params, x, None, method)[0])


def reconstructions(net, params_list, coarsest, sizes, method):
  """The reconstruction of each scale of ``params_list``, coarsest first: (h, w, C) arrays."""
  recons = []
  for params in params_list:
    recons.append(next_reconstruction(net, params, recons, coarsest, sizes, method))
  return recons
