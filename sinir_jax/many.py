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
- Processes: in a multi-process JAX (``jax.distributed.initialize``: several hosts, or a
  multi-host TPU slice) the mesh spans every process's devices and all processes run the same
  chunks in step, each stepping the models on its own devices. Process 0 alone touches the run
  folders (locks, checkpoints, logs, previews); it tells the others which models it opened and
  sends them their restored params (``broadcast_one_to_all``), and gathers the stepped models
  back from them (``process_allgather``) where it logs, checks or saves them.

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
from jax.experimental import multihost_utils
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
  """What one ``train_many`` call did (in a multi-process run, the failure reasons of images
  whose run folder was refused are known to process 0 only).

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


def models_mesh(devices=None):
  """A 1-D Mesh over the axis "models" of ``devices`` (default: every process's devices)."""
  return Mesh(np.asarray(devices if devices is not None else jax.devices()), (AXIS,))


@functools.lru_cache(maxsize=None)
def batched_step(config, channels, sizes, scale, mesh):
  """The jitted training step of M models of one bucket at ``scale``, M a multiple of mesh.size.

  step(params, opt_state, frozen, levels, key) -> (params, opt_state, loss):
    params, opt_state: a model's trees with a leading axis M, split over the mesh.
    frozen: ``scale`` param trees, the trained nets 0..scale-1, each with the axis M.
    levels: pyramid levels 0..scale, each (M, 1, h, w, C).
    key: the step's key data (``jax.random.key_data`` of ``trainer.step_key``), shared by the
      models; raw data, so that every process can pass the same host copy.
    loss: (M,).
  Model m's update is ``trainer.make_train_step``'s on the input ``trainer.cascade_input`` gives
  model m alone.
  """
  net = model_lib.for_config(config, channels)
  step = trainer.make_train_step(net, trainer.make_optimizer(config))

  def one(params, opt_state, frozen, levels, key_data):
    x = trainer.cascade_input(net, frozen, levels, sizes, config.interp,
                              jax.random.wrap_key_data(key_data), config.shuffle_p)
    return step(params, opt_state, x, levels[scale])

  # shard_map rather than jit's automatic partitioning, which splits the grouped convs that
  # vmap makes of per-model convs into invalid shapes: each device steps its own models.
  models = PartitionSpec(AXIS)
  local = jax.shard_map(jax.vmap(one, in_axes=(0, 0, 0, 0, None)), mesh=mesh,
                        in_specs=(models, models, models, models, PartitionSpec()),
                        out_specs=models)
  return jax.jit(local, donate_argnums=(0, 1))


def train_many(images, config, workdir, *, batch_per_device=4, devices=None, overwrite=False,
               report=print):
  """Trains one independent SinIR model per image, many at a time.

  Args:
    images: image paths (each named by its file stem), or a mapping name -> path or (H, W, C)
      array in [-1, 1].
    config: the ``Config`` of every model.
    workdir: image NAME trains in ``workdir/NAME``, a single run's workdir; a rerun continues
      each image where it stopped.
    batch_per_device: models trained at once on each device.
    devices: the devices the models are split over (default: all devices of all processes;
      in a multi-process JAX every process calls ``train_many`` with the same arguments).
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
  named = (dict(images) if isinstance(images, collections.abc.Mapping)
           else image_names(images))
  many = _Many(config, workdir, models_mesh(devices), overwrite, report, len(named), start)
  buckets = many.plan(dict(sorted(named.items())))
  report(f"{len(named)} image(s): {len(buckets)} bucket(s) of equal pyramid sizes; "
         f"{many.mesh.size} device(s) in {jax.process_count()} process(es) x "
         f"{batch_per_device} model(s)")
  for bucket in sorted(buckets):  # (level sizes, channels)
    pending = collections.deque(buckets.pop(bucket))  # models leave it (and memory) as they train
    while chunk := many.open_chunk(pending, batch_per_device * many.mesh.size):
      try:
        many.train_chunk(chunk, channels=bucket[1])
      finally:
        for model in chunk:
          if model.run:
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
  run: checkpoint.RunDir = None  # process 0's only
  finished: list = dataclasses.field(default_factory=list)  # params of the trained scales
  recons: list = dataclasses.field(default_factory=list)  # (h, w, C) per scale; process 0's


class _Many:
  """The state of one ``train_many`` call: keys, mesh, summary, progress."""

  def __init__(self, config, workdir, mesh, overwrite, report, total, start):
    self.config, self.workdir, self.mesh = config, workdir, mesh
    self.overwrite, self.report, self.total, self.start = overwrite, report, total, start
    self.init_key, self.train_key = trainer.run_keys(config)
    self.summary = Summary()
    self.writes = jax.process_index() == 0  # the process that opens the run folders

  def from_writer(self, tree):
    """``tree`` as process 0 has it (host arrays); every process passes one of that shape."""
    if jax.process_count() == 1:
      return tree
    return multihost_utils.broadcast_one_to_all(tree)

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
    their pyramids and finished scales loaded; models already trained, or whose folder is
    refused, are skipped. Process 0 opens the run folders (kept open in ``model.run``) and
    decides; the other processes follow."""
    taken, done, refused = 1, 2, 3  # outcome per model of pending, in order (0: not reached)
    outcome = np.zeros(len(pending), np.int32)
    finished = np.zeros(len(pending), np.int32)
    if self.writes:
      for i, model in enumerate(pending):
        if (outcome == taken).sum() == size:
          break
        try:
          self.open(model)
        except io_lib.InputError as e:
          self.fail(model.name, str(e))
          outcome[i] = refused
          continue
        finished[i] = len(model.finished)
        if len(model.finished) == model.plan.num_scales:
          model.run.close()
          self.report(f"{model.name}: all {model.plan.num_scales} scales already trained in "
                      f"{model.run.path}")
          outcome[i] = done
        else:
          outcome[i] = taken
    outcome, finished = self.from_writer((outcome, finished))
    chunk = []
    for status, count in zip(outcome, finished):
      if not status:
        break
      model = pending.popleft()
      if status == done:
        self.summary.already_done.append(model.name)
      elif status == taken:
        chunk.append(model)
        if not self.writes:
          model.levels, _ = trainer.prepare(model.source, self.config)
          model.finished = [_zeros_like(self.abstract_params(model))] * int(count)
      elif not self.writes:
        self.summary.failures[model.name] = "its run folder was refused (see process 0)"
    for model, trained in zip(chunk, self.from_writer([model.finished for model in chunk])):
      model.finished = trained
    return chunk

  def abstract_params(self, model):
    return model_lib.abstract_params(self.config.net_ch, int(model.levels[0].shape[-1]))

  def open(self, model):
    """Loads the model's pyramid, opens its run folder as ``trainer.train`` would, restores its
    finished scales and, unless all are, their reconstructions."""
    config, plan = self.config, model.plan
    model.levels, _ = trainer.prepare(model.source, config)
    model.run = trainer.open_run(model.source, model.levels, config,
                                 os.path.join(self.workdir, model.name), self.overwrite)
    model.finished = model.run.finished_scales(self.abstract_params(model))
    if len(model.finished) == plan.num_scales:
      return
    if not model.finished:
      trainer.write_pyramid(model.run, model.levels, plan.sizes)
    else:
      self.report(f"resuming {model.run.path}: {len(model.finished)}/{plan.num_scales} scales "
                  f"already trained")
    channels = int(model.levels[0].shape[-1])
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
    initial = model_lib.init_params(self.init_key, config.net_ch, channels)  # every model's
    for scale in range(plan.num_scales):
      models = [m for m in chunk if not self.failed(m) and len(m.finished) == scale]
      fresh = []  # (params, opt_state) at step 0; _stack copies them
      for model in models:
        params = initial if scale == 0 else model.finished[-1]
        fresh.append((params, optimizer.init(params)))
      resumed = [model.run.latest_partial(scale, jax.eval_shape(lambda s=state: s))
                 if self.writes else None for model, state in zip(models, fresh)]
      first_steps = self.from_writer(np.array([r[1] if r else 0 for r in resumed], np.int32))
      states = self.from_writer([r[0] if r else state for r, state in zip(resumed, fresh)])
      for model, first_step in zip(models, first_steps):
        if first_step:
          self.report(f"resuming {model.name} scale {scale + 1}/{plan.num_scales} at step "
                      f"{first_step}")
      starts = sorted(zip(first_steps.tolist(), range(len(models))))
      for first_step, group in itertools.groupby(starts, key=lambda start: start[0]):
        indices = [i for _, i in group]
        self.train_scale([models[i] for i in indices], [states[i] for i in indices], scale,
                         first_step, net, channels)
    for model in chunk:
      if self.failed(model):
        continue
      if self.writes:
        trainer.write_reconstructions(model.run, model.recons)
      self.summary.trained.append(model.name)
      self.report(f"done {model.name}: model, previews and reconstructions in "
                  f"{os.path.join(self.workdir, model.name)}; {self.progress()}")

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

    def check(done, host_params):
      """Fails the models whose loss or params (``host_params``, from ``_to_host``) became NaN
      or Inf; returns the losses since the last check, (steps, count)."""
      losses = np.asarray(_to_host(pending), np.float64).reshape(-1, size)[:, :count]
      pending.clear()
      finite = np.isfinite(losses).all(0) & _finite_per_model(host_params, count)
      for model, ok in zip(models, finite):
        if not ok and not self.failed(model):
          self.fail(model.name, f"the loss became NaN or Inf at scale {scale + 1}/{n_scales}, "
                    f"step {done}; the last good checkpoint is kept in "
                    f"{os.path.join(self.workdir, model.name)}: try a lower --lr")
      return losses

    def writing():
      """(m, model) of the models still training, in the process that writes their folders."""
      return [(m, model) for m, model in enumerate(models)
              if self.writes and not self.failed(model)]

    for step in range(first_step, config.iters):
      key_data = np.asarray(jax.random.key_data(trainer.step_key(self.train_key, scale, step)))
      params, opt_state, loss = step_fn(params, opt_state, frozen, levels, key_data)
      pending.append(loss)
      progress.stepped(step)
      done = step + 1
      if done % config.log_every == 0 or done == config.iters:
        losses = check(done, _to_host(params))
        for m, model in writing():
          model.run.log({"scale": scale, "step": done, "loss": float(losses[-1, m]),
                         "mean_loss": float(losses[:, m].mean()),
                         "lr": trainer.learning_rate(config, step)})
        report(f"scale {scale + 1}/{n_scales} step {done}/{config.iters} loss "
               f"{losses[-1].mean():.4f} (mean of {count} models) {progress.rate():.2f} steps/s "
               f"ETA chunk {progress.eta()}; {self.progress()}")
      if config.checkpoint_every and done % config.checkpoint_every == 0 and done < config.iters:
        host = _to_host((params, opt_state))
        check(done, host[0])
        for m, model in writing():
          model.run.save_partial(scale, done, _model_slice(host, m), scale * config.iters + done)
      if config.preview_every and done % config.preview_every == 0:
        host = _to_host(params)
        for m, model in writing():
          recon = trainer.next_reconstruction(net, _model_slice(host, m), model.recons,
                                              model.levels[0], plan.sizes, config.interp)
          trainer.write_preview(model.run, scale, model.levels[scale][0], recon, step=done)

    host = _to_host(params)
    check(config.iters, host)
    seconds = time.perf_counter() - scale_start
    for m, model in enumerate(models):
      if not self.failed(model):
        model.finished.append(_model_slice(host, m))
    for m, model in writing():
      trained = model.finished[-1]
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

  def place(*leaves):
    # Each process places its own devices' slices; jax.device_put would first check across
    # processes that all hold the same stack (they do).
    stacked = np.stack([np.asarray(leaf) for leaf in leaves])
    return jax.make_array_from_callback(stacked.shape, sharding, lambda index: stacked[index])

  return jax.tree.map(place, *trees)


def _to_host(tree):
  """The stacked models of every process as host arrays, in every process."""
  return multihost_utils.process_allgather(tree, tiled=True)


def _zeros_like(abstract_tree):
  return jax.tree.map(lambda leaf: np.zeros(leaf.shape, leaf.dtype), abstract_tree)


def _finite_per_model(tree, count):
  """(count,) bool: whether all values of each of the first ``count`` models are finite."""
  return np.logical_and.reduce([np.isfinite(a[:count]).reshape(count, -1).all(1)
                                for a in jax.tree.leaves(tree)])


def _model_slice(tree, m):
  """Model m's tree from a host copy of a stacked tree, as arrays on the default device."""
  return jax.tree.map(lambda a: jnp.asarray(a[m]), tree)
