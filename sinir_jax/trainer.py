"""Progressive training of the SinIR cascade (spec section 5), one scale at a time.

For scale n, every step runs the clean coarsest image through the frozen nets 0..n-1, each
output freshly pixel-shuffled and resized to the next level, and trains net n to map that
input to level n (loss MSE + 1 - SSIM). Scale 0 starts from PyTorch's default init; each later
scale starts as a copy of the previous scale's trained weights, with a fresh Adam state and
cosine schedule. Each scale compiles one step function.
"""
import hashlib
import math
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from sinir_jax import cascade
from sinir_jax import checkpoint
from sinir_jax import config as config_lib
from sinir_jax import io as io_lib
from sinir_jax import losses
from sinir_jax import model as model_lib
from sinir_jax import pyramid as pyramid_lib
from sinir_jax import resampling
from sinir_jax import visualize


class TrainingDiverged(RuntimeError):
  """The loss or the weights became NaN or Inf."""


def learning_rate(config, step):
  """The learning rate of 0-based ``step`` within a scale: cosine from lr down to 0."""
  return config.lr * (1 + math.cos(math.pi * step / config.iters)) / 2


def make_optimizer(config):
  """Adam(b1 0.5, b2 0.999) whose rate decays by cosine from ``lr`` to 0 over one scale."""
  schedule = optax.cosine_decay_schedule(config.lr, config.iters)
  return optax.adam(schedule, b1=0.5, b2=0.999, eps=1e-8)


def make_train_step(net, optimizer):
  """The jitted update of the net being trained (it compiles once per scale's shapes).

  step(params, opt_state, x, target) -> (params, opt_state, loss): ``x`` is the net's input
  (the frozen cascade's shuffled output, see ``cascade_input``), ``target`` the level it must
  reconstruct, both (1, h, w, C).
  """
  def step(params, opt_state, x, target):
    loss, grads = jax.value_and_grad(
        lambda p: losses.sinir_loss(net.apply(p, x), target))(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  return jax.jit(step, donate_argnums=(0, 1))


def cascade_input(net, frozen, levels, sizes, method, key, shuffle_p):
  """The input of the net of scale len(frozen): the clean coarsest level through the frozen
  nets, each output freshly shuffled and resized to the next level (no gradient flows)."""
  return cascade.run_cascade(net, frozen, levels[0], sizes[1:len(frozen) + 1], method,
                             key=key, shuffle_p=shuffle_p)


def run_keys(config):
  """(init_key, train_key) of a run: scale 0's init and the root of every step's key."""
  return jax.random.split(jax.random.key(config.seed))


def step_key(train_key, scale, step):
  """The key of one step: a pure function of the run's seed, the scale and the step."""
  return jax.random.fold_in(jax.random.fold_in(train_key, scale), step)


def prepare(image, config):
  """Loads and resizes the training image and plans its scales: (pyramid, plan)."""
  if isinstance(image, (str, os.PathLike)):
    image = io_lib.load_image(image)
  image = jnp.asarray(image, jnp.float32)
  if image.ndim != 3:
    raise io_lib.InputError(f"the training image must be (H, W, C), got shape {image.shape}")
  if config.img_shape is not None:
    image = resampling.resize(image, config.img_shape, config.interp)
  plan = config_lib.plan_scales(config, *image.shape[:2])
  finest = resampling.resize(image, plan.sizes[-1], config.interp)
  levels = pyramid_lib.build_pyramid(finest[None], plan.num_scales, plan.factor, config.interp)
  return levels, plan


def open_run(image, levels, config, workdir, overwrite=False):
  """The locked ``checkpoint.RunDir`` of training ``image`` (path or array, pyramid ``levels``)
  in ``workdir``: its identity is the config and the finest level's digest, and its flags.cfg
  re-runs it."""
  digest = hashlib.sha256(np.asarray(levels[-1]).tobytes()).hexdigest()
  flag_lines = config.to_flags()
  if isinstance(image, (str, os.PathLike)):
    flag_lines = [f"--image={os.path.abspath(image)}",
                  f"--workdir={os.path.abspath(workdir)}"] + flag_lines
  return checkpoint.RunDir(workdir, {"config": config.to_dict(), "image_sha256": digest},
                           flag_lines, overwrite=overwrite)


def format_seconds(seconds):
  """12m05s, or 1h02m past an hour."""
  seconds = int(round(seconds))
  return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else (
      f"{seconds // 60}m{seconds % 60:02d}s")


def _all_finite(tree):
  return all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree.leaves(tree))


class Progress:
  """Timing of the current scale and the ETA of the run (cost ~ pixels the step touches)."""

  def __init__(self, sizes, iters):
    pixels = [h * w for h, w in sizes]
    self.cost = [sum(pixels[:n + 1]) + 2 * pixels[n] for n in range(len(sizes))]
    self.iters = iters

  def start_scale(self, scale):
    self.scale, self.t0 = scale, None

  def stepped(self, step):
    if self.t0 is None:  # the first step compiles: time from its end
      self.t0, self.t0_step = time.perf_counter(), step + 1
    self.step = step + 1

  def rate(self):
    done = self.step - self.t0_step
    return done / (time.perf_counter() - self.t0) if done > 0 else float("nan")

  def eta(self):
    rate = self.rate()
    if not rate > 0:
      return "?"
    later = sum(self.cost[self.scale + 1:]) / self.cost[self.scale] * self.iters
    return format_seconds((self.iters - self.step + later) / rate)


def train(image, config, workdir=None, *, overwrite=False, report=print):
  """Trains a SinIR cascade on one image.

  Args:
    image: (H, W, C) array in [-1, 1], or an image path.
    config: a ``Config``.
    workdir: folder for checkpoints, metrics and previews. With a workdir, a rerun continues
      from the last checkpoint and ends with the same params as an uninterrupted run; a workdir
      of another run is refused unless ``overwrite``. None: nothing is written.
    report: called with each progress line (default ``print``).

  Returns:
    The trained ``Model``.
  """
  config.validate()
  levels, plan = prepare(image, config)
  channels = int(levels[0].shape[-1])
  net = model_lib.for_config(config, channels)
  optimizer = make_optimizer(config)
  init_key, train_key = run_keys(config)
  run = open_run(image, levels, config, workdir, overwrite) if workdir else None
  try:
    return _train_scales(levels, plan, config, net, optimizer, init_key, train_key, run, report)
  finally:
    if run is not None:
      run.close()


def _train_scales(levels, plan, config, net, optimizer, init_key, train_key, run, report):
  n_scales = plan.num_scales
  step_fn = make_train_step(net, optimizer)
  abstract = model_lib.abstract_params(config.net_ch, net.out_channels)
  finished = run.finished_scales(abstract) if run else []
  if run and not finished:
    write_pyramid(run, levels, plan.sizes)
  if finished:
    report(f"resuming {run.path}: {len(finished)}/{n_scales} scales already trained")
  recons = reconstructions(net, finished, levels[0], plan.sizes, config.interp)
  progress = Progress(plan.sizes, config.iters)

  for scale in range(len(finished), n_scales):
    scale_start = time.perf_counter()
    params = (model_lib.init_params(init_key, config.net_ch, net.out_channels) if scale == 0
              else jax.tree.map(jnp.copy, finished[-1]))
    opt_state = optimizer.init(params)
    first_step = 0
    resumed = run.latest_partial(scale, jax.eval_shape(lambda: (params, opt_state))) if run else None
    if resumed:
      (params, opt_state), first_step = resumed
      report(f"resuming scale {scale + 1}/{n_scales} at step {first_step}")
    frozen = tuple(finished)
    target = levels[scale]
    progress.start_scale(scale)
    pending = []

    def check(step):
      values = np.asarray(jax.device_get(pending), np.float64)
      pending.clear()
      if not (np.all(np.isfinite(values)) and _all_finite(params)):
        where = f"; the last good checkpoint is kept in {run.path}" if run else ""
        raise TrainingDiverged(
            f"the loss became NaN or Inf at scale {scale + 1}/{n_scales}, step {step}{where}: "
            f"try a lower --lr")
      return values

    for step in range(first_step, config.iters):
      x = cascade_input(net, frozen, levels, plan.sizes, config.interp,
                        step_key(train_key, scale, step), config.shuffle_p)
      params, opt_state, loss = step_fn(params, opt_state, x, target)
      pending.append(loss)
      progress.stepped(step)
      done = step + 1
      if done % config.log_every == 0 or done == config.iters:
        values = check(done)
        report(f"scale {scale + 1}/{n_scales} step {done}/{config.iters} loss {values[-1]:.4f} "
               f"{progress.rate():.2f} steps/s ETA {progress.eta()}")
        if run:
          run.log({"scale": scale, "step": done, "loss": float(values[-1]),
                   "mean_loss": float(values.mean()), "lr": learning_rate(config, step)})
      if run and config.checkpoint_every and done % config.checkpoint_every == 0 and (
          done < config.iters):
        check(done)
        run.save_partial(scale, done, (params, opt_state), scale * config.iters + done)
      if run and config.preview_every and done % config.preview_every == 0:
        write_preview(run, scale, target[0],
                      next_reconstruction(net, params, recons, levels[0], plan.sizes,
                                          config.interp), step=done)

    check(config.iters)
    finished.append(params)
    recons.append(next_reconstruction(net, params, recons, levels[0], plan.sizes, config.interp))
    seconds = time.perf_counter() - scale_start
    if run:
      save_finished_scale(run, scale, params, plan, config, net.out_channels, seconds)
      write_preview(run, scale, target[0], recons[-1])
    report(f"scale {scale + 1}/{n_scales} ({plan.sizes[scale][0]}x{plan.sizes[scale][1]}) "
           f"done in {format_seconds(seconds)}")

  if run:
    write_reconstructions(run, recons)
    report(f"done: model, previews and reconstructions in {run.path}")
  return cascade.Model(tuple(finished), config, plan.factor, tuple(plan.sizes),
                       net.out_channels)


def write_pyramid(run, levels, sizes):
  """previews/pyramid.png: the training pyramid, labelled with each level's size."""
  io_lib.save_image(run.file("previews", "pyramid.png"), visualize.grid(
      [lv[0] for lv in levels], [f"{h}x{w}" for h, w in sizes]))


def write_preview(run, scale, target, recon, step=None):
  """previews/scale_SS[_step_NNNNN].png: a scale's target beside its reconstruction."""
  name = f"scale_{scale:02d}" + ("" if step is None else f"_step_{step:05d}") + ".png"
  io_lib.save_image(run.file("previews", name),
                    visualize.grid([target, recon], ["target", "reconstruction"]))


def save_finished_scale(run, scale, params, plan, config, channels, seconds):
  """Checkpoints a finished scale with what ``checkpoint.load_model`` needs, drops its
  mid-scale checkpoints and logs its time."""
  run.save_scale(scale, params, {"factor": plan.factor, "sizes": plan.sizes,
                                 "channels": channels, "num_scales": plan.num_scales,
                                 "config": config.to_dict()})
  run.drop_partial()
  run.log({"scale": scale, "seconds": seconds, "size": list(plan.sizes[scale])})


def write_reconstructions(run, recons):
  """reconstruction.png (the finest scale's) and reconstructions.png (every scale's)."""
  io_lib.save_image(run.file("reconstruction.png"), recons[-1])
  io_lib.save_image(run.file("reconstructions.png"), visualize.grid(
      recons, [f"scale {k}" for k in range(len(recons))], columns=min(len(recons), 6)))


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
