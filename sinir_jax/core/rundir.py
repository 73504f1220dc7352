"""A training run's folder: a lock, an identity, orbax checkpoints that verify themselves, logs.

Layout (every method's runs):
  config.json            the run's identity (config + input digest); a rerun must match it
  flags.cfg              written by a CLI: re-runs the same training with --flagfile
  metrics.jsonl          one JSON object per logged step and per finished stage
  previews/, *.png       pictures of the run
  checkpoints/scales/N   orbax: finished stage N (a SinIR scale) and its metadata
  checkpoints/partial/S  orbax: the stage in progress at global step S (the newest only)
  checkpoints/manifest.json  size and SHA-256 of every file of every checkpoint, written after it
  .lock                  held (flock) by the live run; the kernel drops it if the run dies

What is guaranteed:
- Finished stages are used only as a contiguous, verified run 0..k-1: a checkpoint whose files
  differ from its manifest entry, that has none, or that orbax cannot read is damaged. Training
  (``RunDir``) drops a damaged stage and every one after it, saying so, and retrains from the
  last good one; reading (``read_finished``) refuses with one line (``InputError``).
- A folder holding another run, or files that are not a run's, is refused before anything is
  written into it (no ``.lock`` either); a folder in use by a live run is refused.
- Nothing is written through a symlink: a run folder containing one is refused.
- A full disk is one ``DiskFullError``; what was saved before stays loadable.
"""
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import sys

from absl import logging as absl_logging
import jax
import orbax.checkpoint as ocp

from sinir_jax.core import files
from sinir_jax.core.errors import InputError

FORMAT_VERSION = 2  # 2: verified by checkpoints/manifest.json; 1 (before manifests) still loads
_RUN_FILES = ("checkpoints", "previews", "metrics.jsonl", "config.json", "flags.cfg")
_MANIFEST = os.path.join("checkpoints", "manifest.json")


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


@contextlib.contextmanager
def _orbax_errors_raised_not_logged():
  """orbax logs a failed write (with its traceback) from its writer thread, then raises it: the
  raised error is reported (one line), so the log is silenced while saving."""
  _ignore_closed_loop_callbacks()
  level = absl_logging.get_verbosity()
  absl_logging.set_verbosity(absl_logging.FATAL)
  try:
    yield
  finally:
    absl_logging.set_verbosity(level)


def _ignore_closed_loop_callbacks():
  """When a save fails (a full disk), tensorstore's writer threads still complete its pending
  writes and call back into the event loop orbax has closed; each such "Event loop is closed"
  error goes to sys.unraisablehook, during the save and after it. Only those are dropped (the
  failure itself is raised); installed once, at the first save."""
  previous = sys.unraisablehook
  if getattr(previous, "drops_closed_loop", False):
    return

  def hook(unraisable):
    if not (unraisable.exc_type is RuntimeError and
            str(unraisable.exc_value) == "Event loop is closed"):
      previous(unraisable)

  hook.drops_closed_loop = True
  sys.unraisablehook = hook


def _tree_bytes(tree):
  return sum(getattr(leaf, "nbytes", 0) for leaf in jax.tree.leaves(tree))


def _digest(folder):
  """{relative path: [size, sha256]} of every file under ``folder``."""
  found = {}
  for root, _, names in os.walk(folder):
    for name in names:
      path = os.path.join(root, name)
      with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
      found[os.path.relpath(path, folder)] = [os.path.getsize(path), digest]
  return found


class _Checkpoints:
  """The orbax checkpoints of a run folder and their manifest (read-only unless ``writable``)."""

  def __init__(self, path, writable):
    self.path, self.writable = path, writable
    root = os.path.join(path, "checkpoints")
    if not writable and not os.path.isdir(os.path.join(root, "scales")):
      self.scales = self.partial = None
    else:
      self.scales = _manager(os.path.join(root, "scales"))
      self.partial = _manager(os.path.join(root, "partial"), max_to_keep=1) if writable else None
    self.manifest = self._read_manifest()
    self.verified = set()  # (kind, step) whose files matched the manifest

  def _read_manifest(self):
    path = os.path.join(self.path, _MANIFEST)
    if not os.path.exists(path):
      return {}
    try:
      entries = files.read_json(path)["entries"]
      if isinstance(entries, dict):
        return entries
    except (InputError, KeyError, TypeError):
      pass
    return {}  # unreadable: no checkpoint of version 2 verifies

  def steps(self, kind):
    manager = self.scales if kind == "scales" else self.partial
    return sorted(manager.all_steps()) if manager is not None else []

  def restore(self, kind, step, abstract_state):
    """(state, meta) of a checkpoint that verifies; InputError with the reason otherwise.

    A checkpoint with a manifest entry must match it file for file. One without is accepted
    only if its metadata says it was written before manifests existed (format version 1).
    """
    entry = self.manifest.get(f"{kind}/{step}")
    if entry is not None and (kind, step) not in self.verified:
      found = _digest(os.path.join(self.path, "checkpoints", kind, str(step)))
      if found != entry:
        changed = sorted(set(found) ^ set(entry) | {k for k in found if found[k] != entry.get(k)})
        raise InputError(f"{len(changed)} of its files differ from the manifest, e.g. "
                         f"{changed[0]!r}")
      self.verified.add((kind, step))
    manager = self.scales if kind == "scales" else self.partial
    args = {"meta": ocp.args.JsonRestore()}
    if abstract_state is not None:
      args["state"] = ocp.args.StandardRestore(abstract_state)
    try:
      restored = manager.restore(step, args=ocp.args.Composite(**args))
    except Exception as e:  # pylint: disable=broad-except
      # orbax and tensorstore fail on damaged files with many exception types.
      text = " ".join(str(e).split())[:160] or type(e).__name__
      raise InputError(f"orbax cannot read it ({text})") from None
    meta = restored.meta
    if not isinstance(meta, dict):
      raise InputError("its metadata is not a JSON object")
    if entry is None and meta.get("format_version", 1) >= 2:
      raise InputError("it has no manifest entry (its save did not finish)")
    return (restored.state if abstract_state is not None else None), meta

  def save(self, kind, step, state, meta):
    manager = self.scales if kind == "scales" else self.partial
    meta = dict(meta, format_version=FORMAT_VERSION)
    try:
      with _orbax_errors_raised_not_logged():
        manager.save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(jax.device_get(state)), meta=ocp.args.JsonSave(meta)),
            force=True)
        manager.wait_until_finished()
    except Exception as e:  # pylint: disable=broad-except
      if files.is_disk_full(e):
        raise files.disk_full(os.path.join(self.path, "checkpoints", kind),
                              _tree_bytes(state)) from None
      raise
    self._update({f"{kind}/{step}": _digest(os.path.join(self.path, "checkpoints", kind,
                                                         str(step)))})
    self.verified.add((kind, step))

  def delete(self, kind, step):
    (self.scales if kind == "scales" else self.partial).delete(step)
    self.verified.discard((kind, step))
    self._update({}, drop=f"{kind}/{step}")

  def _update(self, entries, drop=None):
    manifest = dict(self.manifest)
    manifest.update(entries)
    manifest.pop(drop, None)
    # Only entries of checkpoints that exist (a kill between a delete and this write leaves
    # a stale one; it is dropped here).
    manifest = {k: v for k, v in manifest.items()
                if os.path.isdir(os.path.join(self.path, "checkpoints", k))}
    files.write_json(os.path.join(self.path, _MANIFEST),
                     {"format_version": FORMAT_VERSION, "entries": manifest})
    self.manifest = manifest

  def close(self):
    for manager in (self.scales, self.partial):
      if manager is not None:
        manager.close()


def _refuse_links(path):
  """InputError if the run folder holds a symlink anywhere (a write could leave the folder)."""
  for root, dirs, names in os.walk(path):
    for name in dirs + names:
      if os.path.islink(os.path.join(root, name)):
        raise InputError(
            f"run folder {path!r} contains the symbolic link "
            f"{os.path.relpath(os.path.join(root, name), path)!r}: sinir_jax writes only its own "
            f"files there; remove the link or choose another --workdir")


def _open_lock(path, create):
  flags = os.O_RDWR | os.O_NOFOLLOW | (os.O_CREAT if create else 0)
  try:
    return os.fdopen(os.open(os.path.join(path, ".lock"), flags, 0o666), "r+")
  except FileNotFoundError:
    return None
  except OSError as e:
    if e.errno == errno.ELOOP:
      _refuse_links(path)
    if files.is_disk_full(e):
      raise files.disk_full(os.path.join(path, ".lock"), 16) from None
    raise InputError(f"cannot write to workdir {path!r} ({e.strerror}): choose a writable "
                     f"--workdir") from None


class RunDir:
  """The folder of one training run, locked for the life of this object.

  Args:
    path: the folder (made if missing).
    identity: {"config": dict, "image_sha256": str}, what the run trains on; a rerun must match.
    flag_lines: the lines of ``flags.cfg``, which re-runs it.
    normalize_config: maps a config dict (stored or new) to the fields that must match for a
      rerun to continue the run (a method drops its logging cadences, fills new fields' defaults).
    overwrite: replace a run of another identity, or use a folder of foreign files.
    checkpoints: whether the run keeps orbax checkpoints (``checkpoints/``).
  """

  def __init__(self, path, identity, flag_lines, *, normalize_config=dict, overwrite=False,
               checkpoints=True):
    self.path = os.path.abspath(path)
    self._normalize = normalize_config
    self._lock = None
    if os.path.isdir(self.path):
      _refuse_links(self.path)
      self._refuse_other_runs(identity, overwrite)  # before anything is written into it
    try:
      os.makedirs(self.path, exist_ok=True)
    except OSError as e:
      if files.is_disk_full(e):
        raise files.disk_full(self.path, 4096) from None
      raise InputError(f"cannot write to workdir {path!r} ({e.strerror}): choose a writable "
                       f"--workdir") from None
    self._lock = _open_lock(self.path, create=True)
    try:
      fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
      self._lock.close()
      raise InputError(
          f"workdir {path!r} is in use by another running training: wait for it to finish or "
          f"choose another --workdir") from e
    try:
      self._refuse_other_runs(identity, overwrite)  # again, now that no one else can write
      self._claim(identity, flag_lines, overwrite)
      os.ftruncate(self._lock.fileno(), 0)
      os.pwrite(self._lock.fileno(), f"{os.getpid()}\n".encode(), 0)
      self.checkpoints = _Checkpoints(self.path, writable=True) if checkpoints else None
    except OSError as e:
      self.close()
      if files.is_disk_full(e):
        raise files.disk_full(self.path, 4096) from None
      raise
    except BaseException:
      self.close()
      raise

  def _comparable(self, identity):
    return self._normalize(identity["config"]), identity["image_sha256"]

  def _stored(self):
    """The comparable identity of the run the folder holds, None if it holds none."""
    path = os.path.join(self.path, "config.json")
    if not os.path.lexists(path):
      return None
    try:
      return self._comparable(files.read_json(path))
    except InputError as e:
      reason = str(e)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
      reason = f"{path!r} is damaged ({type(e).__name__}: {e})"
    raise InputError(f"workdir {self.path!r}: {reason}: pass --overwrite to start the run "
                     f"afresh, or choose another --workdir")

  def _refuse_other_runs(self, identity, overwrite):
    if overwrite:
      return
    stored = self._stored()
    if stored is None:
      if set(os.listdir(self.path)) - {".lock"}:
        raise InputError(
            f"workdir {self.path!r} is not empty and holds no sinir_jax run: choose another "
            f"--workdir, or pass --overwrite to use it anyway")
      return
    (old, old_image), (new, new_image) = stored, self._comparable(identity)
    if old != new:
      changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
      what = f"config ({', '.join(changed)})"
    elif old_image != new_image:
      what = "image"
    else:
      return
    raise InputError(f"workdir {self.path!r} holds a run with another {what}: choose another "
                     f"--workdir, or pass --overwrite to replace that run")

  def _claim(self, identity, flag_lines, overwrite):
    if overwrite:
      try:
        same = self._stored() == self._comparable(identity)
      except InputError:
        same = False
      if not same:
        self._clear()
    files.write_json(os.path.join(self.path, "config.json"), identity)
    files.write_atomic(os.path.join(self.path, "flags.cfg"), "\n".join(flag_lines) + "\n")

  def _clear(self):
    for name in _RUN_FILES:
      target = os.path.join(self.path, name)
      if os.path.isdir(target) and not os.path.islink(target):
        shutil.rmtree(target)
      elif os.path.lexists(target):
        os.remove(target)

  def finished(self, abstract_state, report=print):
    """States of the finished stages 0..k-1 that verify; a missing or damaged stage and all
    after it are deleted (reported), so that training continues from the last good one."""
    states = []
    steps = self.checkpoints.steps("scales")
    for step in steps:
      if step != len(states):
        problem = "is missing"
      else:
        try:
          states.append(self.checkpoints.restore("scales", step, abstract_state)[0])
          continue
        except InputError as e:
          problem = f"is damaged or incomplete ({e})"
      bad = len(states)
      dropped = [s for s in steps if s >= bad]
      report(f"note: the checkpoint of scale {bad} in {self.path} {problem}: dropping scale(s) "
             f"{', '.join(map(str, dropped))} and retraining from scale {bad}")
      for drop in dropped:
        self.checkpoints.delete("scales", drop)
      self.drop_partial()
      break
    return states

  def save_finished(self, index, state, meta):
    self.checkpoints.save("scales", index, state, dict(meta, scale=index))

  def latest_partial(self, index, abstract_state, report=print):
    """(state, step) of the newest mid-stage checkpoint of stage ``index``, or None; a damaged
    one is dropped (reported) and the stage starts over."""
    steps = self.checkpoints.steps("partial")
    if not steps:
      return None
    try:
      state, meta = self.checkpoints.restore("partial", steps[-1], abstract_state)
      if meta.get("scale") != index:
        return None
      return state, int(meta["step"])
    except (InputError, KeyError, TypeError, ValueError) as e:
      report(f"note: the mid-scale checkpoint in {self.path} is damaged ({e}): dropping it and "
             f"starting scale {index} over")
      self.drop_partial()
      return None

  def save_partial(self, index, step, state, global_step):
    self.checkpoints.save("partial", global_step, state, {"scale": index, "step": step})

  def drop_partial(self):
    for step in self.checkpoints.steps("partial"):
      self.checkpoints.delete("partial", step)

  def log(self, record):
    files.append_line(os.path.join(self.path, "metrics.jsonl"), json.dumps(record))

  def file(self, *parts):
    """The path of a file of the run (for ``files.write_atomic`` or ``save_image``)."""
    return os.path.join(self.path, *parts)

  def close(self):
    checkpoints = getattr(self, "checkpoints", None)
    if checkpoints is not None:
      checkpoints.close()
      self.checkpoints = None
    if self._lock is not None and not self._lock.closed:
      fcntl.flock(self._lock, fcntl.LOCK_UN)
      self._lock.close()


def read_finished(workdir, abstract_state_of):
  """The finished stages of the run in ``workdir``, read without writing anything.

  Args:
    abstract_state_of: maps the newest stage's metadata to the abstract state of every stage
      (shapes and dtypes for orbax).

  Returns:
    (states, meta): every finished stage 0..k-1, and the newest stage's metadata.

  Raises:
    InputError: no finished stage, or a missing or damaged one (the message names the folder,
    the first bad stage and what to do).
  """
  path = os.path.abspath(workdir)
  name = os.fspath(workdir)
  if not os.path.isdir(path):
    raise InputError(f"workdir {name!r} is not a folder: pass the folder of a trained model")
  checkpoints = _Checkpoints(path, writable=False)
  hint = (f"rerun the training command on {name!r} to retrain it from the last good scale, or "
          f"use another model")
  try:
    steps = checkpoints.steps("scales")
    if not steps:
      raise InputError(f"workdir {name!r} has no finished scale: train a model there first "
                       f"(python -m sinir_jax.train --workdir={name})")
    missing = sorted(set(range(steps[-1] + 1)) - set(steps))
    if missing:
      raise InputError(f"workdir {name!r}: the checkpoint of scale {missing[0]} is missing: "
                       f"{hint}")
    step = None
    try:
      for step in steps:  # verified in order: the first bad scale is the one named
        _, meta = checkpoints.restore("scales", step, None)
      abstract = abstract_state_of(meta)
      states = []
      for step in steps:
        states.append(checkpoints.restore("scales", step, abstract)[0])
    except (InputError, KeyError, TypeError, ValueError) as e:
      raise InputError(f"workdir {name!r}: the checkpoint of scale {step} is damaged ({e}): "
                       f"{hint}") from None
    return states, meta
  finally:
    checkpoints.close()
