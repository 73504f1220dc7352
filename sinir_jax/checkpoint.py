"""A training run's folder: orbax checkpoints of each finished scale, mid-scale state, the lock.

Layout of a workdir:
  config.json            the run's config and image digest (a rerun must match it)
  flags.cfg              written by the CLI: re-runs the same training with --flagfile
  metrics.jsonl          one JSON object per logged step and per finished scale
  previews/              PNG previews (training pyramid, each scale's reconstruction, final grid)
  checkpoints/scales/N   orbax: scale N's params + metadata, written once the scale is done
  checkpoints/partial/S  orbax: the scale in progress (params, Adam state) at global step S
  .lock                  held (flock) by the live run; the kernel drops it if the run dies
"""
import fcntl
import json
import os
import shutil

import jax
import orbax.checkpoint as ocp

from sinir_jax import cascade
from sinir_jax import config as config_lib
from sinir_jax import io as io_lib
from sinir_jax import model as model_lib

FORMAT_VERSION = 1


def _manager(path, max_to_keep=None):
  # A run folder belongs to the one process that opened it, also in a multi-process JAX
  # (train_many under jax.distributed): its checkpoints are saved by that process alone, as
  # host numpy arrays (orbax refuses a jax.Array on one process's devices there), with orbax's
  # barriers limited to it (which needs the folder made here, not with create=True).
  process = jax.process_index()
  options = ocp.CheckpointManagerOptions(
      max_to_keep=max_to_keep, enable_async_checkpointing=False, create=False,
      cleanup_tmp_directories=True, multiprocessing_options=ocp.options.MultiprocessingOptions(
          primary_host=process, active_processes={process}))
  os.makedirs(path, exist_ok=True)
  return ocp.CheckpointManager(path, options=options, item_names=("state", "meta"))


def _save(manager, step, state, meta):
  manager.save(step, args=ocp.args.Composite(
      state=ocp.args.StandardSave(jax.device_get(state)), meta=ocp.args.JsonSave(meta)),
      force=True)
  manager.wait_until_finished()


def _restore(manager, step, abstract_state):
  restored = manager.restore(step, args=ocp.args.Composite(
      state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore()))
  return restored.state, restored.meta


class RunDir:
  """The workdir of one training run, locked for the life of this object."""

  def __init__(self, path, identity, flag_lines, *, overwrite=False):
    self.path = os.path.abspath(path)
    try:
      os.makedirs(self.path, exist_ok=True)
      self._lock = open(os.path.join(self.path, ".lock"), "a+")
    except OSError as e:
      raise io_lib.InputError(
          f"cannot write to workdir {path!r} ({e.strerror}): choose a writable --workdir") from e
    try:
      fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
      self._lock.close()
      raise io_lib.InputError(
          f"workdir {path!r} is in use by another running training: wait for it to finish or "
          f"choose another --workdir") from e
    self._lock.seek(0)
    self._lock.truncate()
    self._lock.write(f"{os.getpid()}\n")
    self._lock.flush()
    try:
      self._claim(identity, flag_lines, overwrite)
    except BaseException:
      self.close()
      raise
    self.scales = _manager(os.path.join(self.path, "checkpoints", "scales"))
    self.partial = _manager(os.path.join(self.path, "checkpoints", "partial"), max_to_keep=1)

  def _claim(self, identity, flag_lines, overwrite):
    config_path = os.path.join(self.path, "config.json")
    if os.path.exists(config_path):
      with open(config_path) as f:
        previous = json.load(f)
      if _comparable(previous) != _comparable(identity):
        if not overwrite:
          old, new = _comparable(previous)[0], _comparable(identity)[0]
          changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
          what = f"config ({', '.join(changed)})" if changed else "image"
          raise io_lib.InputError(
              f"workdir {self.path!r} holds a run with another {what}: choose another "
              f"--workdir, or pass --overwrite to replace that run")
        self._clear()
    elif os.listdir(self.path) != [".lock"] and not overwrite:
      raise io_lib.InputError(
          f"workdir {self.path!r} is not empty and holds no sinir_jax run: choose another "
          f"--workdir, or pass --overwrite to use it anyway")
    _write_atomic(config_path, json.dumps(identity, indent=2))
    _write_atomic(os.path.join(self.path, "flags.cfg"), "\n".join(flag_lines) + "\n")

  def _clear(self):
    for name in ("checkpoints", "previews", "metrics.jsonl", "config.json", "flags.cfg"):
      target = os.path.join(self.path, name)
      if os.path.isdir(target):
        shutil.rmtree(target)
      elif os.path.exists(target):
        os.remove(target)

  def finished_scales(self, abstract_params):
    """Params of the finished scales, in order; abstract_params: one scale's jax.eval_shape."""
    return [_restore(self.scales, step, abstract_params)[0]
            for step in sorted(self.scales.all_steps())]

  def save_scale(self, scale, params, meta):
    _save(self.scales, scale, params, dict(meta, format_version=FORMAT_VERSION, scale=scale))

  def latest_partial(self, scale, abstract_state):
    """(state, step) of the newest mid-scale checkpoint of ``scale``, or None."""
    steps = self.partial.all_steps()
    if not steps:
      return None
    state, meta = _restore(self.partial, max(steps), abstract_state)
    if meta["scale"] != scale:
      return None
    return state, meta["step"]

  def save_partial(self, scale, step, state, global_step):
    _save(self.partial, global_step, state, {"scale": scale, "step": step})

  def drop_partial(self):
    for step in self.partial.all_steps():
      self.partial.delete(step)

  def log(self, record):
    with open(os.path.join(self.path, "metrics.jsonl"), "a") as f:
      f.write(json.dumps(record) + "\n")

  def file(self, *parts):
    path = os.path.join(self.path, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path

  def close(self):
    for manager in (getattr(self, "scales", None), getattr(self, "partial", None)):
      if manager is not None:
        manager.close()
    if not self._lock.closed:
      fcntl.flock(self._lock, fcntl.LOCK_UN)
      self._lock.close()


def _comparable(identity):
  # Through Config: a run written before a field existed compares as that field's default.
  config = config_lib.Config.from_dict(identity["config"]).to_dict()
  training = {k: v for k, v in config.items() if k not in config_lib.CADENCE_FIELDS}
  return training, identity["image_sha256"]


def _write_atomic(path, text):
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "w") as f:
    f.write(text)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


def load_model(workdir):
  """Loads the finished scales of the run in ``workdir`` as a ``Model``.

  A run stopped part-way loads as the cascade of its finished scales.
  """
  directory = os.path.join(os.path.abspath(workdir), "checkpoints", "scales")
  if not os.path.isdir(directory) or not (manager := _manager(directory)).all_steps():
    raise io_lib.InputError(
        f"workdir {workdir!r} has no finished scale: train a model there first "
        f"(python -m sinir_jax.train --workdir={workdir})")
  steps = sorted(manager.all_steps())
  meta = manager.restore(steps[-1], args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta
  config = config_lib.Config.from_dict(meta["config"])
  abstract = model_lib.abstract_params(config.net_ch, meta["channels"])
  params = [_restore(manager, step, abstract)[0] for step in steps]
  manager.close()
  sizes = tuple(tuple(s) for s in meta["sizes"][:len(params)])
  return cascade.Model(tuple(params), config, meta["factor"], sizes, meta["channels"])
