"""Trains many independent SinIR models at once: one model per image, vmapped and sharded.

Every image gets the training a single run gives it (``trainer.train`` with the same config):
the same keys (``init_key, train_key`` split from ``config.seed``, ``trainer.step_key`` per
scale and step), the same scale-0 init, pyramid, steps, optimizer and checkpoints. Only the
arithmetic is batched:

- Buckets: images whose pyramids have equal level sizes and channels are trained together.
  Nothing is padded inside an image (that would change its model).
- Chunks: a bucket trains ``batch_per_device * devices`` models at a time. Their states are
  stacked on a leading model axis; the per-model step (the frozen cascade of
  ``trainer.cascade_input``, then ``trainer.make_train_step``) is ``jax.vmap``ped over params,
  Adam state, frozen nets and pyramid, and the model axis is split over a 1-D ``Mesh`` of the
  local devices (axis "models"). A chunk is padded to a multiple of the device count with
  copies of its first model, whose results are discarded. Models stepped together are at the
  same scale and step (after a resume, a chunk trains in groups of equal progress), so they
  share that step's key, as separate runs with one seed would.
- Run folders: image NAME trains in ``WORKDIR/NAME``, a ``checkpoint.RunDir`` laid out exactly
  as a single run's workdir (``sj.load_model(WORKDIR/NAME)`` loads it; ``python -m
  sinir_jax.train --flagfile=WORKDIR/NAME/flags.cfg`` continues it). A killed job resumes each
  image from its own finished scales (and mid-scale checkpoints), on any number of devices.
- Hosts: each process trains its share ``host_share(...)`` of the images on its own devices;
  processes never communicate (see ``launch/train_many.md``).

Equality with single runs is up to float32 rounding, not bit for bit: XLA compiles the batched
(grouped) convolutions and the fused cascade into other kernels than the single run's
per-stage programs. Adam amplifies that rounding where a gradient is about zero: an update is
about +-lr whatever the gradient's size, so a parameter whose gradient is rounding noise (the
biases of the 3x3 convs, which instance norm removes, and a few kernel entries) can move by up
to about lr per step differently. ``tests/test_train_many.py`` states the bounds.
"""
import collections.abc
import dataclasses
import functools
import itertools
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec

from sinir_jax import checkpoint
from sinir_jax import io as io_lib
from sinir_jax import model as model_lib
from sinir_jax import trainer

AXIS = "models"


@dataclasses.dataclass
class Summary:
  """What one ``train_many`` call did in this process.

  Attributes:
    trained: names of the models this call trained to their last scale.
    already_done: names whose run folder already held every scale.
    failures: name -> one-line reason, for the images that could not be trained.
    seconds: wall time of the call.
  """
  trained: list = dataclasses.field(default_factory=list)
  already_done: list = dataclasses.field(default_factory=list)
  failures: dict = dataclasses.field(default_factory=dict)
  seconds: float = 0.0

  def lines(self):
    """The summary as report lines: models done, time per model, one line per failure."""
    done = len(self.trained) + len(self.already_done)
    head = f"summary: {done}/{done + len(self.failures)} models done"
    if self.already_done:
      head += f" ({len(self.already_done)} trained before)"
    head += f" in {trainer.format_seconds(self.seconds)}"
    if self.trained:
      per_model = self.seconds / len(self.trained)
      head += f", {per_model:.1f} s per model ({3600 / per_model:.1f} models/hour)"
    lines = [head]
    if self.failures:
      lines.append(f"{len(self.failures)} failed:")
      lines += [f"  {name}: {reason}" for name, reason in sorted(self.failures.items())]
    return lines


def image_names(paths):
  """{file stem: path} of image paths; two paths with one stem are refused (InputError)."""
  named = {}
  for path in paths:
    name = os.path.splitext(os.path.basename(path))[0]
    if name in named:
      raise io_lib.InputError(
          f"images {named[name]!r} and {path!r} would share the run folder {name!r}: rename "
          f"one or train them in separate workdirs")
    named[name] = path
  return named


def host_share(names, process_index, process_count):
  """The names process ``process_index`` of ``process_count`` trains: every count-th, sorted."""
  if not 0 <= process_index < process_count:
    raise io_lib.InputError(f"process_id must be in [0, {process_count}), got {process_index}")
  return sorted(names)[process_index::process_count]


def models_mesh(devices=None):
  """A 1-D Mesh over the axis "models" of ``devices`` (default: this process's devices)."""
  return Mesh(np.asarray(devices if devices is not None else jax.local_devices()), (AXIS,))


@functools.lru_cache(maxsize=None)
def batched_step(config, channels, sizes, scale, mesh):
  """The jitted training step of M models of one bucket at ``scale``, M a multiple of mesh.size.

  step(params, opt_state, frozen, levels, key) -> (params, opt_state, loss):
    params, opt_state: a model's trees with a leading axis M, split over the mesh.
    frozen: ``scale`` param trees, the trained nets 0..scale-1, each with the axis M.
    levels: pyramid levels 0..scale, each (M, 1, h, w, C).
    key: the step's key (``trainer.step_key``), shared by the models.
    loss: (M,).
  Model m's update is ``trainer.make_train_step``'s on the input ``trainer.cascade_input`` gives
  model m alone.
  """
  net = model_lib.for_config(config, channels)
  step = trainer.make_train_step(net, trainer.make_optimizer(config))

  def one(params, opt_state, frozen, levels, key):
    x = trainer.cascade_input(net, frozen, levels, sizes, config.interp, key, config.shuffle_p)
    return step(params, opt_state, x, levels[scale])

  # shard_map rather than jit's automatic partitioning, which splits the grouped convs that
  # vmap makes of per-model convs into invalid shapes: each device steps its own models.
  models = PartitionSpec(AXIS)
  local = jax.shard_map(jax.vmap(one, in_axes=(0, 0, 0, 0, None)), mesh=mesh,
                        in_specs=(models, models, models, models, PartitionSpec()),
                        out_specs=models)
  return jax.jit(local, donate_argnums=(0, 1))


def train_many(images, config, workdir, *, batch_per_device=4, devices=None, process_index=0,
               process_count=1, overwrite=False, report=print):
  """Trains one independent SinIR model per image, many at a time.

  Args:
    images: image paths (each named by its file stem), or a mapping name -> path or (H, W, C)
      array in [-1, 1].
    config: the ``Config`` of every model.
    workdir: image NAME trains in ``workdir/NAME``, a single run's workdir; a rerun continues
      each image where it stopped.
    batch_per_device: models trained at once on each device.
    devices: the devices the models are split over (default: all of this process's).
    process_index, process_count: this process trains ``host_share`` of the images.
    overwrite: replace runs of another config or image in the images' folders.
    report: called with each progress line.

  Returns:
    A ``Summary``. An image that cannot be trained (unreadable, too small, diverged, its folder
    in use or holding another run) is recorded there as a failure; the others go on.
  """
  start = time.perf_counter()
  config.validate()
  if batch_per_device < 1:
    raise io_lib.InputError(f"batch_per_device must be >= 1, got {batch_per_device}")
  if jax.process_count() > 1:
    raise io_lib.InputError(
        "JAX runs multi-process here (jax.distributed or a multi-host TPU slice), where orbax "
        "cannot save one host's own checkpoints: run one independent process per host with "
        "--process_id and --num_processes (see launch/train_many.md)")
  named = (dict(images) if isinstance(images, collections.abc.Mapping)
           else image_names(images))
  share = host_share(named, process_index, process_count)
  many = _Many(config, workdir, models_mesh(devices), overwrite, report, len(share), start)
  buckets = many.plan({name: named[name] for name in share})
  report(f"{len(share)} image(s) in process {process_index + 1}/{process_count}: "
         f"{len(buckets)} bucket(s) of equal pyramid sizes; {many.mesh.size} device(s) x "
         f"{batch_per_device} model(s)")
  for bucket in sorted(buckets):  # (level sizes, channels)
    pending = collections.deque(buckets.pop(bucket))  # models leave it (and memory) as they train
    while chunk := many.open_chunk(pending, batch_per_device * many.mesh.size):
      try:
        many.train_chunk(chunk, channels=bucket[1])
      finally:
        for model in chunk:
          model.run.close()
  many.summary.seconds = time.perf_counter() - start
  return many.summary


@dataclasses.dataclass
class _Model:
  """One image's model while its chunk trains."""
  name: str
  source: object  # path or (H, W, C) array
  plan: object  # its config.ScalePlan
  levels: list = None  # (1, h, w, C) per scale, loaded when the chunk opens
  run: checkpoint.RunDir = None
  finished: list = dataclasses.field(default_factory=list)  # params of the trained scales
  recons: list = dataclasses.field(default_factory=list)  # (h, w, C) per trained scale


class _Many:
  """The state of one ``train_many`` call: keys, mesh, summary, progress."""

  def __init__(self, config, workdir, mesh, overwrite, report, total, start):
    self.config, self.workdir, self.mesh = config, workdir, mesh
    self.overwrite, self.report, self.total, self.start = overwrite, report, total, start
    self.init_key, self.train_key = trainer.run_keys(config)
    self.summary = Summary()

  def fail(self, name, reason):
    self.summary.failures[name] = reason
    self.report(f"failed {name}: {reason}")

  def failed(self, model):
    return model.name in self.summary.failures

  def progress(self):
    """'models done D/T, ETA all ...' over this process's share."""
    summary = self.summary
    done = len(summary.trained) + len(summary.already_done) + len(summary.failures)
    text = f"models done {done}/{self.total}"
    if summary.trained:
      per_model = (time.perf_counter() - self.start) / len(summary.trained)
      text += f", ETA all {trainer.format_seconds(per_model * (self.total - done))}"
    return text

  def plan(self, named):
    """{(level sizes, channels): [_Model]}, the images' buckets; unusable images fail."""
    buckets = {}
    for name, source in named.items():
      try:
        levels, plan = trainer.prepare(source, self.config)
      except io_lib.InputError as e:
        self.fail(name, str(e))
        continue
      key = (plan.sizes, int(levels[0].shape[-1]))
      buckets.setdefault(key, []).append(_Model(name, source, plan))
    return buckets

  def open_chunk(self, pending, size):
    """Up to ``size`` models taken from the deque ``pending`` that still need training, with
    their run folders open; models already trained, or whose folder is refused, are skipped."""
    chunk = []
    while pending and len(chunk) < size:
      model = pending.popleft()
      try:
        self.open(model)
      except io_lib.InputError as e:
        self.fail(model.name, str(e))
        continue
      if len(model.finished) == model.plan.num_scales:
        model.run.close()
        self.summary.already_done.append(model.name)
        self.report(f"{model.name}: all {model.plan.num_scales} scales already trained in "
                    f"{model.run.path}")
        continue
      chunk.append(model)
    return chunk

  def open(self, model):
    """Loads the model's pyramid, opens its run folder as ``trainer.train`` would, restores its
    finished scales and, unless all are, their reconstructions."""
    config, plan = self.config, model.plan
    model.levels, _ = trainer.prepare(model.source, config)
    model.run = trainer.open_run(model.source, model.levels, config,
                                 os.path.join(self.workdir, model.name), self.overwrite)
    channels = int(model.levels[0].shape[-1])
    model.finished = model.run.finished_scales(model_lib.abstract_params(config.net_ch, channels))
    if len(model.finished) == plan.num_scales:
      return
    if not model.finished:
      trainer.write_pyramid(model.run, model.levels, plan.sizes)
    else:
      self.report(f"resuming {model.run.path}: {len(model.finished)}/{plan.num_scales} scales "
                  f"already trained")
    model.recons = trainer.reconstructions(model_lib.for_config(config, channels),
                                           model.finished, model.levels[0], plan.sizes,
                                           config.interp)

  def train_chunk(self, chunk, channels):
    """Trains the remaining scales of a chunk's models (all of one bucket), then writes each
    model's final reconstructions as ``trainer.train`` does."""
    config = self.config
    net = model_lib.for_config(config, channels)
    optimizer = trainer.make_optimizer(config)
    plan = chunk[0].plan
    self.report(f"training {len(chunk)} model(s) of {plan.sizes[-1][0]}x{plan.sizes[-1][1]} "
                f"({plan.num_scales} scales): {', '.join(model.name for model in chunk)}")
    for scale in range(plan.num_scales):
      starts = []  # (first step, model, (params, opt_state))
      for model in chunk:
        if self.failed(model) or len(model.finished) != scale:
          continue
        params = (model_lib.init_params(self.init_key, config.net_ch, channels) if scale == 0
                  else jax.tree.map(jnp.copy, model.finished[-1]))
        state = (params, optimizer.init(params))
        resumed = model.run.latest_partial(scale, jax.eval_shape(lambda s=state: s))
        if resumed:
          self.report(f"resuming {model.name} scale {scale + 1}/{plan.num_scales} at step "
                      f"{resumed[1]}")
        starts.append((resumed[1], model, resumed[0]) if resumed else (0, model, state))
      starts.sort(key=lambda start: start[0])
      for first_step, group in itertools.groupby(starts, key=lambda start: start[0]):
        group = list(group)
        self.train_scale([m for _, m, _ in group], [s for _, _, s in group], scale, first_step,
                         net, channels)
    for model in chunk:
      if self.failed(model):
        continue
      trainer.write_reconstructions(model.run, model.recons)
      self.summary.trained.append(model.name)
      self.report(f"done {model.name}: model, previews and reconstructions in "
                  f"{model.run.path}; {self.progress()}")

  def train_scale(self, models, states, scale, first_step, net, channels):
    """Trains ``scale`` of ``models`` together from ``first_step``, as ``trainer.train`` trains
    one: logs, checkpoints and previews go to each model's run folder.

    states: each model's (params, opt_state) at ``first_step``.
    """
    config, mesh, report = self.config, self.mesh, self.report
    plan, count = models[0].plan, len(models)
    n_scales, size = plan.num_scales, -(-count // mesh.size) * mesh.size
    sharding = NamedSharding(mesh, PartitionSpec(AXIS))
    params, opt_state = _stack(states, size, sharding)
    frozen = tuple(_stack([m.finished[k] for m in models], size, sharding) for k in range(scale))
    levels = tuple(_stack([m.levels[k] for m in models], size, sharding)
                   for k in range(scale + 1))
    step_fn = batched_step(config, channels, plan.sizes, scale, mesh)
    progress = trainer.Progress(plan.sizes, config.iters)
    progress.start_scale(scale)
    scale_start = time.perf_counter()
    pending = []

    def check(done):
      """Fails the models whose loss or params became NaN or Inf; returns the losses since the
      last check, (steps, count)."""
      losses = np.asarray(jax.device_get(pending), np.float64).reshape(-1, size)[:, :count]
      pending.clear()
      finite = np.isfinite(losses).all(0) & _finite_per_model(jax.device_get(params), count)
      for model, ok in zip(models, finite):
        if not ok and not self.failed(model):
          self.fail(model.name, f"the loss became NaN or Inf at scale {scale + 1}/{n_scales}, "
                    f"step {done}; the last good checkpoint is kept in {model.run.path}: try a "
                    f"lower --lr")
      return losses

    def alive():
      return [(m, model) for m, model in enumerate(models) if not self.failed(model)]

    for step in range(first_step, config.iters):
      params, opt_state, loss = step_fn(params, opt_state, frozen, levels,
                                        trainer.step_key(self.train_key, scale, step))
      pending.append(loss)
      progress.stepped(step)
      done = step + 1
      if done % config.log_every == 0 or done == config.iters:
        losses = check(done)
        for m, model in alive():
          model.run.log({"scale": scale, "step": done, "loss": float(losses[-1, m]),
                         "mean_loss": float(losses[:, m].mean()),
                         "lr": trainer.learning_rate(config, step)})
        report(f"scale {scale + 1}/{n_scales} step {done}/{config.iters} loss "
               f"{losses[-1].mean():.4f} (mean of {count} models) {progress.rate():.2f} steps/s "
               f"ETA chunk {progress.eta()}; {self.progress()}")
      if config.checkpoint_every and done % config.checkpoint_every == 0 and done < config.iters:
        check(done)
        host = jax.device_get((params, opt_state))
        for m, model in alive():
          model.run.save_partial(scale, done, _model_slice(host, m), scale * config.iters + done)
      if config.preview_every and done % config.preview_every == 0:
        host = jax.device_get(params)
        for m, model in alive():
          recon = trainer.next_reconstruction(net, _model_slice(host, m), model.recons,
                                              model.levels[0], plan.sizes, config.interp)
          trainer.write_preview(model.run, scale, model.levels[scale][0], recon, step=done)

    check(config.iters)
    seconds = time.perf_counter() - scale_start
    host = jax.device_get(params)
    for m, model in alive():
      trained = _model_slice(host, m)
      model.finished.append(trained)
      model.recons.append(trainer.next_reconstruction(net, trained, model.recons,
                                                      model.levels[0], plan.sizes, config.interp))
      trainer.save_finished_scale(model.run, scale, trained, plan, config, channels, seconds)
      trainer.write_preview(model.run, scale, model.levels[scale][0], model.recons[-1])
    report(f"scale {scale + 1}/{n_scales} ({plan.sizes[scale][0]}x{plan.sizes[scale][1]}) done "
           f"in {trainer.format_seconds(seconds)} for {count} model(s)")


def _stack(trees, size, sharding):
  """The trees stacked on a new leading axis, padded to ``size`` with copies of the first (the
  dummy models), placed with ``sharding``."""
  trees = trees + [trees[0]] * (size - len(trees))
  return jax.device_put(jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *trees),
                        sharding)


def _finite_per_model(tree, count):
  """(count,) bool: whether all values of each of the first ``count`` models are finite."""
  return np.logical_and.reduce([np.isfinite(a[:count]).reshape(count, -1).all(1)
                                for a in jax.tree.leaves(tree)])


def _model_slice(tree, m):
  """Model m's tree from a host copy of a stacked tree, as arrays on the default device."""
  return jax.tree.map(lambda a: jnp.asarray(a[m]), tree)
