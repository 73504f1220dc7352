"""The one scale loop of SinIR training, for one model (``sj.train``) or many (``sj.train_many``).

Models trained together share a bucket (equal pyramid sizes), a config, and the step they are
at. A *stepper* advances them: ``trainer.Stepper`` one model with the per-stage jitted functions
of ``steps``, ``batched.Stepper`` many, vmapped and sharded. Everything else happens here, once:
scale by scale, each model starts from the previous scale's params (scale 0 from the run's
init), resumes from its mid-scale checkpoint, and trains ``iters`` steps through
``core.loop.run``, whose hooks log (and check for NaN), checkpoint and preview on their
cadences; a finished scale is checkpointed with its reconstruction.

Stepper interface (every call is made in the same order by every process of a multi-process
run, since a batched stepper's host copies are collectives):
  advance(step, count): steps ``step .. step + count - 1``.
  take_losses() -> (steps since the last call, models) float64 array.
  host_params() -> one param tree per model (valid until the next advance).
  host_states() -> one (params, opt_state) per model, for checkpoints.
"""
import dataclasses
import itertools
import time

import jax
import numpy as np

from sinir_jax.core import loop
from sinir_jax.core import rundir
from sinir_jax.sinir import config as config_lib
from sinir_jax.sinir import network
from sinir_jax.sinir import runs
from sinir_jax.sinir import steps


@dataclasses.dataclass
class ModelRun:
  """One image's model while it trains."""
  name: str
  source: object  # path or (H, W, C) array
  plan: config_lib.ScalePlan
  levels: list = None  # (1, h, w, C) per scale
  run: rundir.RunDir = None  # None without a workdir, and in processes that do not write
  finished: list = dataclasses.field(default_factory=list)  # params of the trained scales
  recons: list = dataclasses.field(default_factory=list)  # (h, w, C) per trained scale
  failure: str = None  # why it stopped training

  @property
  def channels(self):
    return int(self.levels[0].shape[-1])


@dataclasses.dataclass(frozen=True)
class Event:
  """What ``on_event`` gets: kind "step" after a logged step (``loss``: the mean over the
  models stepped together) or "scale" when a scale is finished."""
  kind: str
  scale: int
  step: int
  loss: float = None


class Job:
  """What every scale of a training call shares.

  Args:
    config: the ``Config`` of every model.
    report: called with each progress line.
    on_event: called with each ``Event`` (a test or notebook may stop training from it).
    share: ``share(tree)`` gives every process the writing process's ``tree`` (identity in a
      single process).
    status: ``status()`` is appended to progress lines (e.g. models done of a whole job).
    report_failures: report a model that fails (its reason is in ``model.failure`` either way).
  """

  def __init__(self, config, report, *, on_event=None, share=lambda tree: tree,
               status=lambda: "", report_failures=True):
    self.config, self.report, self.share, self.status = config, report, share, status
    self.report_failures = report_failures
    self.on_event = on_event or (lambda event: None)
    self.init_key, self.train_key = steps.run_keys(config)
    self.optimizer, self.schedule = steps.make_optimizer(config), steps.make_schedule(config)

  def net(self, channels):
    return network.for_config(self.config, channels)

  def fail(self, model, reason):
    model.failure = reason
    if self.report_failures:
      self.report(f"failed {model.name}: {reason}")


def scale_costs(sizes):
  """Relative cost of a step at each scale: the pixels the frozen cascade and the update touch."""
  pixels = [h * w for h, w in sizes]
  return [sum(pixels[:n + 1]) + 2 * pixels[n] for n in range(len(sizes))]


def train_models(job, models, make_stepper):
  """Trains the remaining scales of ``models`` (one bucket, finished scales and pyramids loaded),
  then writes each model's results.

  make_stepper(models, states, scale): the stepper of ``models`` at ``scale`` from ``states``,
  one (params, opt_state) per model.
  """
  plan, config = models[0].plan, job.config
  initial = network.init_params(job.init_key, config.net_ch, models[0].channels)
  for scale in range(plan.num_scales):
    todo = [m for m in models if m.failure is None and len(m.finished) == scale]
    if not todo:
      continue
    fresh = []
    for model in todo:
      params = initial if scale == 0 else model.finished[-1]
      fresh.append((params, job.optimizer.init(params)))
    resumed = [model.run.latest_partial(scale, jax.eval_shape(lambda s=state: s), job.report)
               if model.run else None for model, state in zip(todo, fresh)]
    first_steps = job.share(np.array([r[1] if r else 0 for r in resumed], np.int32))
    states = job.share([r[0] if r else state for r, state in zip(resumed, fresh)])
    for model, first_step in zip(todo, first_steps):
      if first_step:
        job.report(f"{model.name}: resuming scale {scale + 1}/{plan.num_scales} at step "
                   f"{first_step}")
    # Models stepped together are at the same step (they share its key).
    starts = sorted(zip(first_steps.tolist(), range(len(todo))))
    for first_step, group in itertools.groupby(starts, key=lambda start: start[0]):
      indices = [i for _, i in group]
      group_models, group_states = [todo[i] for i in indices], [states[i] for i in indices]
      train_scale(job, group_models, scale, first_step,
                  make_stepper(group_models, group_states, scale))
  for model in models:
    if model.failure is None and model.run is not None:
      runs.write_results(model.run, model.recons)


def train_scale(job, models, scale, first_step, stepper):
  """Trains ``scale`` of ``models`` (at ``first_step``) to its end, as described above."""
  config, plan = job.config, models[0].plan
  n_scales, net = plan.num_scales, job.net(models[0].channels)
  progress = loop.Progress(scale_costs(plan.sizes), config.iters)
  progress.start(scale, first_step)
  start = time.perf_counter()

  def writing():
    """(m, model) of the models still training, in the process that writes their folders."""
    return [(m, model) for m, model in enumerate(models)
            if model.run is not None and model.failure is None]

  def done():
    return all(model.failure is not None for model in models)

  def check(step):
    """Fails the models whose loss or params became NaN or Inf; returns the losses since the
    last check, (steps, models)."""
    losses = stepper.take_losses()
    finite = np.isfinite(losses).all(0) & [_all_finite(p) for p in stepper.host_params()]
    for model, ok in zip(models, finite):
      if not ok and model.failure is None:
        kept = ""
        if model.run and scale:
          kept = (f"; {'scale 1' if scale == 1 else f'scales 1-{scale}'} of {n_scales} stay "
                  f"saved in {model.run.path}")
        elif model.run:
          kept = f"; no scale had finished, so {model.run.path} holds no model yet"
        job.fail(model, f"the loss became NaN or Inf at scale {scale + 1}/{n_scales}, step "
                 f"{step}{kept}: try a lower --lr")
    return losses

  def advance(step, count):
    stepper.advance(step, count)
    progress.stepped(step + count)

  def log(step):
    losses = check(step)
    for m, model in writing():
      model.run.log({"scale": scale, "step": step, "loss": float(losses[-1, m]),
                     "mean_loss": float(losses[:, m].mean()),
                     "lr": float(job.schedule(step - 1))})
    ok = [m for m, model in enumerate(models) if model.failure is None]
    if ok:
      loss = float(losses[-1, ok].mean())
      several = f" (mean of {len(ok)} models)" if len(models) > 1 else ""
      job.report(f"scale {scale + 1}/{n_scales} step {step}/{config.iters} loss {loss:.4f}"
                 f"{several} {progress.rate():.2f} steps/s ETA {progress.eta()}{job.status()}")
      job.on_event(Event("step", scale, step, loss))
    return done()

  def checkpoint(step):
    if step == config.iters:
      return False  # the finished scale is saved below
    check(step)
    for (m, model), state in zip(writing(), _pick(stepper.host_states(), writing())):
      model.run.save_partial(scale, step, state, scale * config.iters + step)
    return done()

  def preview(step):
    for (m, model), params in zip(writing(), _pick(stepper.host_params(), writing())):
      runs.write_preview(model.run, scale, model.levels[scale][0], runs.next_reconstruction(
          net, params, model.recons, model.levels[0], plan.sizes, config.interp), step=step)
    return False

  hooks = [loop.Hook(config.log_every, log),
           loop.Hook(config.checkpoint_every, checkpoint, last=False),
           loop.Hook(config.preview_every, preview, last=False)]
  loop.run(advance, first_step, config.iters, hooks, config.steps_per_call)

  seconds = time.perf_counter() - start
  for model, params in zip(models, stepper.host_params()):
    if model.failure is not None:
      continue
    model.finished.append(params)
    if model.run is not None:
      model.recons.append(runs.next_reconstruction(net, params, model.recons, model.levels[0],
                                                   plan.sizes, config.interp))
      runs.save_finished_scale(model.run, scale, params, plan, config, model.channels, seconds)
      runs.write_preview(model.run, scale, model.levels[scale][0], model.recons[-1])
  trained = sum(model.failure is None for model in models)
  if trained:
    several = f" for {trained} model(s)" if len(models) > 1 else ""
    job.report(f"scale {scale + 1}/{n_scales} ({plan.sizes[scale][0]}x{plan.sizes[scale][1]}) "
               f"done in {loop.format_seconds(seconds)}{several}")
    job.on_event(Event("scale", scale, config.iters))


def _pick(per_model, writing):
  return [per_model[m] for m, _ in writing]


def _all_finite(tree):
  return all(bool(np.isfinite(np.asarray(leaf)).all()) for leaf in jax.tree.leaves(tree))
