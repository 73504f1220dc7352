"""Progressive training of the SinIR cascade on one image (spec section 5).

For scale n, every step runs the clean coarsest image through the frozen nets 0..n-1, each
output freshly pixel-shuffled and resized to the next level, and trains net n to map that
input to level n (loss MSE + 1 - SSIM). Scale 0 starts from PyTorch's default init; each later
scale starts as a copy of the previous scale's trained weights, with a fresh Adam state and
cosine schedule. Each scale compiles one step function; the frozen cascade runs as per-level
jitted stages, which later scales reuse (on CPU, convolutions inside a bigger program or a loop
run slower). The scale loop itself is ``scale_loop``'s, shared with ``sj.train_many``.
"""
import os

import jax
import jax.numpy as jnp
import numpy as np

from sinir_jax.core import images
from sinir_jax.core import resampling
from sinir_jax.core.errors import InputError
from sinir_jax.sinir import cascade
from sinir_jax.sinir import config as config_lib
from sinir_jax.sinir import network
from sinir_jax.sinir import pyramid as pyramid_lib
from sinir_jax.sinir import runs
from sinir_jax.sinir import scale_loop
from sinir_jax.sinir import steps


class TrainingDiverged(RuntimeError):
  """The loss or the weights became NaN or Inf."""


def prepare(image, config):
  """Loads and resizes the training image and plans its scales: (pyramid, plan)."""
  if isinstance(image, (str, os.PathLike)):
    image = images.load_image(image)
  image = jnp.asarray(image, jnp.float32)
  if image.ndim != 3:
    raise InputError(f"the training image must be (H, W, C), got shape {image.shape}")
  if config.img_shape is not None:
    image = resampling.resize(image, config.img_shape, config.interp)
  plan = config_lib.plan_scales(config, *image.shape[:2])
  finest = resampling.resize(image, plan.sizes[-1], config.interp)
  levels = pyramid_lib.build_pyramid(finest[None], plan.num_scales, plan.factor, config.interp)
  return levels, plan


class Stepper:
  """Steps one model (``scale_loop``'s stepper interface): the frozen cascade of
  ``steps.cascade_input``, then ``steps.make_train_step``'s update; a call of several steps
  (``steps_per_call`` > 1) as ``steps.make_fused_steps``' one compiled call."""

  def __init__(self, job, model, state, scale):
    self.job, self.model, self.scale = job, model, scale
    # Copies: the step donates its params and Adam state, and these may be a finished scale's.
    self.params, self.opt_state = jax.tree.map(jnp.copy, state)
    self.net = job.net(model.channels)
    self.step_fn = steps.make_train_step(self.net, job.optimizer)
    self.pending = []

  def advance(self, step, count):
    config, model = self.job.config, self.model
    keys = [steps.step_key(self.job.train_key, self.scale, t) for t in range(step, step + count)]
    if count > 1:  # steps_per_call > 1: one compiled call
      fused = steps.make_fused_steps(self.net, self.job.optimizer, model.plan.sizes,
                                     config.interp, config.shuffle_p)
      self.params, self.opt_state, losses = fused(
          self.params, self.opt_state, tuple(model.finished), model.levels[0],
          model.levels[self.scale], jnp.stack(keys))
      self.pending.append(losses)
      return
    x = steps.cascade_input(self.net, tuple(model.finished), model.levels, model.plan.sizes,
                            config.interp, keys[0], config.shuffle_p)
    self.params, self.opt_state, loss = self.step_fn(self.params, self.opt_state, x,
                                                     model.levels[self.scale])
    self.pending.append(loss[None])

  def take_losses(self):
    losses = np.concatenate([np.zeros(0)] + jax.device_get(self.pending)).astype(np.float64)
    self.pending = []
    return losses[:, None]

  def host_params(self):
    return [self.params]

  def host_states(self):
    return [jax.device_get((self.params, self.opt_state))]


def train(image, config, workdir=None, *, overwrite=False, report=print, on_event=None):
  """Trains a SinIR cascade on one image.

  Args:
    image: (H, W, C) array in [-1, 1], or an image path.
    config: a ``Config``.
    workdir: folder for checkpoints, metrics and previews. With a workdir, a rerun continues
      from the last checkpoint and ends with the same params as an uninterrupted run; a workdir
      of another run is refused unless ``overwrite``. None: nothing is written.
    report: called with each progress line (default ``print``).
    on_event: called with a ``scale_loop.Event`` after each logged step and finished scale; an
      exception raised there stops training (what was checkpointed stays).

  Returns:
    The trained ``Model``.

  Raises:
    InputError: bad config, image or workdir. TrainingDiverged: the loss became NaN or Inf.
  """
  config.validate()
  levels, plan = prepare(image, config)
  name = os.path.abspath(workdir) if workdir else "training"
  model = scale_loop.ModelRun(name, image, plan, levels)
  if workdir:
    model.run = runs.open_run(image, levels, config, workdir, overwrite)
  job = scale_loop.Job(config, report, on_event=on_event, report_failures=False)
  try:
    if model.run and resume(job, model):
      report(f"{model.run.path}: all {plan.num_scales} scales already trained")
    else:
      scale_loop.train_models(job, [model], lambda models, states, scale: Stepper(
          job, models[0], states[0], scale))
  finally:
    if model.run is not None:
      model.run.close()
  if model.failure:
    raise TrainingDiverged(model.failure)
  elif model.run:
    report(f"done: model, previews and reconstructions in {model.run.path}")
  return cascade.Model(tuple(model.finished), config, plan.factor, tuple(plan.sizes),
                       model.channels)


def resume(job, model):
  """Restores the finished scales of ``model``'s run folder; unless every scale is trained
  (then it returns True), their reconstructions too (a fresh folder gets its pyramid preview)."""
  config, plan = job.config, model.plan
  model.finished = model.run.finished(network.abstract_params(config.net_ch, model.channels),
                                      job.report)
  if len(model.finished) == plan.num_scales:
    return True
  if model.finished:
    job.report(f"resuming {model.run.path}: {len(model.finished)}/{plan.num_scales} scales "
               f"already trained")
  else:
    runs.write_pyramid(model.run, model.levels, plan.sizes)
  model.recons = runs.reconstructions(job.net(model.channels), model.finished, model.levels[0],
                                      plan.sizes, config.interp)
  return False
