"""Trains many independent SinIR models at once: one model per image, vmapped and sharded.

Every image gets the training a single run gives it (``sj.train`` with the same config): the
same keys, scale-0 init, pyramid, steps, optimizer and checkpoints, through the same scale loop
(``scale_loop``); only the arithmetic is batched (``batched``).

- Buckets: images whose pyramids have equal level sizes and channels are trained together.
  Nothing is padded inside an image (that would change its model).
- Chunks: a bucket trains ``batch_per_device * devices`` models at a time. After a resume, a
  chunk trains in groups of equal progress (models stepped together share the step's key).
- Run folders: image NAME trains in ``WORKDIR/NAME``, laid out exactly as a single run's
  workdir (``sj.load_model(WORKDIR/NAME)`` loads it; ``python -m sinir_jax.train
  --flagfile=WORKDIR/NAME/flags.cfg`` continues it). A killed job resumes each image from its
  own finished scales (and mid-scale checkpoints), on any number of devices.
- Processes: in a multi-process JAX (``jax.distributed.initialize``: several hosts, or a
  multi-host TPU slice) the mesh spans every process's devices and all processes run the same
  chunks in step, each stepping the models on its own devices. Process 0 alone touches the run
  folders (locks, checkpoints, logs, previews); it tells the others which models it opened and
  sends them their restored params (``broadcast_one_to_all``), and gathers the stepped models
  back from them where it logs, checks or saves them.
"""
import collections.abc
import dataclasses
import os
import time

import jax
import numpy as np
from jax.experimental import multihost_utils

from sinir_jax.core import loop
from sinir_jax.core.errors import DiskFullError
from sinir_jax.core.errors import InputError
from sinir_jax.sinir import batched
from sinir_jax.sinir import network
from sinir_jax.sinir import runs
from sinir_jax.sinir import scale_loop
from sinir_jax.sinir import trainer


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
    head += f" in {loop.format_seconds(self.seconds)}"
    if self.trained:
      per_model = self.seconds / len(self.trained)
      head += f", {per_model:.1f} s per model ({3600 / per_model:.1f} models/hour)"
    lines = [head]
    if self.failures:
      lines.append(f"{len(self.failures)} failed:")
      lines += [f"  {name}: {reason}" for name, reason in sorted(self.failures.items())]
    return lines


def check_name(name):
  """``name`` if it can name a run folder inside the workdir (one path component), else
  InputError: a name never leads outside the workdir."""
  text = str(name)
  if text in ("", ".", "..") or "/" in text or os.sep in text or "\0" in text:
    raise InputError(f"{text!r} cannot name a run folder inside the workdir: use a name without "
                     f"'/' that is not '.' or '..'")
  return text


def image_names(paths):
  """{file stem: path} of image paths; two paths with one stem are refused (InputError)."""
  named = {}
  for path in paths:
    name = check_name(os.path.splitext(os.path.basename(path))[0])
    if name in named:
      raise InputError(
          f"images {named[name]!r} and {path!r} would share the run folder {name!r}: rename "
          f"one or train them in separate workdirs")
    named[name] = path
  return named


def train_many(images, config, workdir, *, batch_per_device=4, devices=None, overwrite=False,
               report=print, on_event=None):
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
    on_event: called with each ``scale_loop.Event`` of every chunk.

  Returns:
    A ``Summary``. An image that cannot be trained (unreadable, too small, diverged, its folder
    in use or holding another run) is recorded there as a failure; the others go on. A full disk
    stops the job (``DiskFullError``).
  """
  start = time.perf_counter()
  config.validate()
  if batch_per_device < 1:
    raise InputError(f"batch_per_device must be >= 1, got {batch_per_device}")
  named = ({check_name(k): v for k, v in images.items()}
           if isinstance(images, collections.abc.Mapping) else image_names(images))
  many = _Many(config, workdir, batched.models_mesh(devices), overwrite, report, on_event,
               len(named), start)
  buckets = many.plan(dict(sorted(named.items())))
  report(f"{len(named)} image(s): {len(buckets)} bucket(s) of equal pyramid sizes; "
         f"{many.mesh.size} device(s) in {jax.process_count()} process(es) x "
         f"{batch_per_device} model(s)")
  for bucket in sorted(buckets):  # (level sizes, channels)
    pending = collections.deque(buckets.pop(bucket))  # models leave it (and memory) as they train
    while chunk := many.open_chunk(pending, batch_per_device * many.mesh.size):
      try:
        many.train_chunk(chunk)
      finally:
        for model in chunk:
          if model.run:
            model.run.close()
  many.summary.seconds = time.perf_counter() - start
  return many.summary


class _Many:
  """The state of one ``train_many`` call: the mesh, the summary, the processes' protocol."""

  def __init__(self, config, workdir, mesh, overwrite, report, on_event, total, start):
    self.config, self.workdir, self.mesh = config, workdir, mesh
    self.overwrite, self.report, self.total, self.start = overwrite, report, total, start
    self.summary = Summary()
    self.writes = jax.process_index() == 0  # the process that opens the run folders
    self.job = scale_loop.Job(config, report, on_event=on_event, share=self.from_writer,
                              status=self.status)

  def from_writer(self, tree):
    """``tree`` as process 0 has it (host arrays); every process passes one of that shape."""
    if jax.process_count() == 1:
      return tree
    return multihost_utils.broadcast_one_to_all(tree)

  def fail(self, name, reason):
    self.summary.failures[name] = reason
    self.report(f"failed {name}: {reason}")

  def status(self):
    """'; models done D/T, ETA all ...' over the whole job."""
    summary = self.summary
    done = len(summary.trained) + len(summary.already_done) + len(summary.failures)
    text = f"; models done {done}/{self.total}"
    if summary.trained:
      per_model = (time.perf_counter() - self.start) / len(summary.trained)
      text += f", ETA all {loop.format_seconds(per_model * (self.total - done))}"
    return text

  def plan(self, named):
    """{(level sizes, channels): [ModelRun]}, the images' buckets; unusable images fail."""
    buckets = {}
    for name, source in named.items():
      try:
        levels, plan = trainer.prepare(source, self.config)
      except InputError as e:
        self.fail(name, str(e))
        continue
      key = (plan.sizes, int(levels[0].shape[-1]))
      buckets.setdefault(key, []).append(scale_loop.ModelRun(name, source, plan))
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
          all_trained = self.open(model)
        except DiskFullError:
          raise
        except InputError as e:
          self.fail(model.name, str(e))
          outcome[i] = refused
          continue
        finished[i] = len(model.finished)
        if all_trained:
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
          abstract = network.abstract_params(self.config.net_ch, model.channels)
          model.finished = [jax.tree.map(lambda a: np.zeros(a.shape, a.dtype), abstract)
                            ] * int(count)
      elif not self.writes:
        self.summary.failures[model.name] = "its run folder was refused (see process 0)"
    for model, trained in zip(chunk, self.from_writer([model.finished for model in chunk])):
      model.finished = trained
    return chunk

  def open(self, model):
    """Loads the model's pyramid, opens its run folder as ``sj.train`` would and restores its
    finished scales; returns whether all are trained."""
    model.levels, _ = trainer.prepare(model.source, self.config)
    model.run = runs.open_run(model.source, model.levels, self.config,
                              os.path.join(self.workdir, model.name), self.overwrite)
    return trainer.resume(self.job, model)

  def train_chunk(self, chunk):
    """Trains the remaining scales of a chunk's models (all of one bucket)."""
    plan = chunk[0].plan
    self.report(f"training {len(chunk)} model(s) of {plan.sizes[-1][0]}x{plan.sizes[-1][1]} "
                f"({plan.num_scales} scales): {', '.join(model.name for model in chunk)}")
    scale_loop.train_models(self.job, chunk, lambda models, states, scale: batched.Stepper(
        self.job, models, states, scale, self.mesh))
    for model in chunk:
      if model.failure is not None:
        self.summary.failures[model.name] = model.failure
        continue
      self.summary.trained.append(model.name)
      self.report(f"done {model.name}: model, previews and reconstructions in "
                  f"{os.path.join(self.workdir, model.name)}{self.status()}")
