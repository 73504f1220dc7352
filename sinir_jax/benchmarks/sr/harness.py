"""The x4 super-resolution benchmark on any folder of HR/LR pairs, resumable, for any methods.

Each method (``methods``) super-resolves every LR image x4; each output is scored against its
HR image (``scoring``) and the tables are rewritten after each image (``report``). Methods: the
MATLAB-bicubic baseline always, then those asked for (``METHODS``).

Layout of the workdir (a rerun skips every image whose ``sr_x4.png`` and ``metrics.json``
exist; SinIR resumes a half-trained model from its checkpoints; an image a method cannot do is
reported and left out, the others go on):

  <method>/method.json              its label and kind (the summary lists every such folder)
  <method>/config.json              what it was run with (a rerun into it must match)
  <method>/<name>/sr_x4.png, metrics.json   its x4 output and scores (bicubic: + HR NIQE)
  <method>/models/<name>/           SinIR: the training run (``sj.load_model`` loads it)
  <method>/metrics.json, .csv       the scores of the run's images, one row each
  summary.md                        mean scores of every method, beside the papers' rows
  scores.png, tradeoff.png          bars per metric; NIQE against RMSE (two or more methods)
"""
import json
import os

from sinir_jax.benchmarks.sr import methods as methods_lib
from sinir_jax.benchmarks.sr import pairs as pairs_lib
from sinir_jax.benchmarks.sr import report as report_lib
from sinir_jax.benchmarks.sr import scoring
from sinir_jax.core import files
from sinir_jax.core import images
from sinir_jax.core import loop
from sinir_jax.core.errors import InputError


def parse_shuffle_ps(text):
  """'0.005,0.0005' -> (0.005, 0.0005); InputError for anything but distinct numbers in [0, 1]."""
  hint = "pass one probability in [0, 1] or a comma-separated list such as 0.005,0.0005"
  try:
    ps = tuple(float(s) for s in text.split(","))
  except ValueError:
    raise InputError(f"bad --shuffle_p {text!r}: {hint}") from None
  if not all(0 <= p <= 1 for p in ps):  # also refuses nan
    raise InputError(f"bad --shuffle_p {text!r}: {hint}")
  if len(set(ps)) != len(ps):
    raise InputError(f"bad --shuffle_p {text!r}: a value is repeated; {hint}")
  return ps


def sinir_methods(config, shuffle_ps, batch_per_device=4, report=print, bp_iters=(0,)):
  """One ``methods.SinIR`` per shuffle probability and back-projection count, each model
  trained on its LR image as is (``img_shape`` is not used)."""
  if config.task != "sr":
    raise InputError(
        f"the sr benchmark trains with SinIR's SR recipe, not task {config.task!r}: pass "
        f"--flagfile=configs/sr.cfg (or configs/sr_cpu.cfg)")
  if config.img_shape is not None:
    report(f"note: each model trains on its LR image at its own size; img_shape "
           f"{config.img_shape} is not used")
  return [methods_lib.SinIR(config.replace(shuffle_p=p, img_shape=None).validate(),
                            batch_per_device, bp) for p in shuffle_ps for bp in bp_iters]


def _descriptor(method):
  return {"key": method.key, "label": method.label, **method.fields}


def _claim(folder, method):
  """Records the method of a results folder, or InputError if it holds another config's."""
  identity = json.loads(json.dumps(method.identity))
  path = os.path.join(folder, "config.json")
  if identity is not None and os.path.exists(path):
    previous = files.read_json(path)
    if not isinstance(previous, dict):
      raise InputError(f"{path!r} is damaged: choose another --workdir")
    previous = json.loads(json.dumps(method.normalize(previous)))
    if previous != identity:
      changed = sorted(k for k in set(previous) | set(identity)
                       if previous.get(k) != identity.get(k))
      raise InputError(f"{folder!r} holds results of another config ({', '.join(changed)}): "
                       f"choose another --workdir")
  if identity is not None:
    files.write_json(path, identity)
  files.write_json(os.path.join(folder, "method.json"), _descriptor(method))


def _done(folder):
  """The stored record of a finished image, or None."""
  path = os.path.join(folder, "metrics.json")
  if os.path.exists(path) and os.path.exists(os.path.join(folder, "sr_x4.png")):
    try:
      return files.read_json(path)
    except InputError:
      return None  # damaged: done again
  return None


def _scores_line(record):
  return (f"PSNR-Y {record['psnr_y_c4']:.2f} RMSE {record['rmse_rgb']:.2f} SSIM "
          f"{record['ssim_rgb']:.3f} MS-SSIM {record['msssim_rgb']:.3f} NIQE "
          f"{record['niqe_y']:.2f}")


def _other_methods(workdir, keys):
  """Descriptors of the results folders of methods run into ``workdir`` before, not in
  ``keys``."""
  found = []
  for key in sorted(os.listdir(workdir)) if os.path.isdir(workdir) else []:
    path = os.path.join(workdir, key, "method.json")
    if key not in keys and os.path.exists(path):
      try:
        descriptor = files.read_json(path)
      except InputError:
        continue
      if isinstance(descriptor, dict) and descriptor.get("key") == key:
        found.append(descriptor)
  return found


def run_benchmark(hr_dir, lr_dir, workdir, methods, *, limit=None, report=print):
  """Runs the x4 SR benchmark (module docstring) and writes its results under ``workdir``.

  Args:
    hr_dir, lr_dir: folders of the ground-truth and low-resolution images.
    workdir: results folder; a rerun continues where the last run stopped.
    methods: the methods to score (``methods``); bicubic is always scored first.
    limit: only the first ``limit`` pairs (sorted by name).
    report: called with each progress line.

  Returns:
    ({method key: [record, ...]}, failures): each image's scores in pair order, and
    {"<key> <name>": one-line reason} for the images a method could not do.

  Raises:
    InputError: bad folders, pairs or workdir.
  """
  pairs = pairs_lib.find_pairs(hr_dir, lr_dir, limit, report)
  methods = [methods_lib.Bicubic()] + list(methods)
  workdir = os.path.abspath(workdir)
  try:
    for method in methods:
      _claim(os.path.join(workdir, method.key), method)
  except OSError as e:
    raise InputError(f"cannot write to workdir {workdir!r} ({e.strerror}): choose a writable "
                     f"--workdir") from None
  report(f"{len(pairs)} image pair(s), methods {', '.join(m.label for m in methods)}; results "
         f"in {workdir}")
  earlier = []
  for descriptor in _other_methods(workdir, {m.key for m in methods}):
    records = [r for r in (_done(os.path.join(workdir, descriptor["key"], pair.name))
                           for pair in pairs) if r is not None]
    if records:
      earlier.append((descriptor, records))
  results = {method.key: [] for method in methods}

  def tables():
    measured = [(_descriptor(m), results[m.key]) for m in methods]
    report_lib.write(workdir, measured + earlier, hr_dir, lr_dir,
                     [m.note for m in methods if m.note])

  failures = {}
  for method in methods:
    folder = os.path.join(workdir, method.key)
    done = {pair.name: _done(os.path.join(folder, pair.name)) for pair in pairs}
    todo = [pair for pair in pairs if done[pair.name] is None]
    outputs = iter(method.run(todo, folder, report)) if todo else iter(())
    for i, pair in enumerate(pairs):
      prefix = f"[{i + 1}/{len(pairs)}] {method.short} {pair.name}"
      record = done[pair.name]
      if record is not None:
        report(f"{prefix}: skip (done: {_scores_line(record)})")
      else:
        done_pair, output, seconds, failure = next(outputs)
        assert done_pair is pair, (done_pair, pair)
        if failure is not None:
          failures[f"{method.key} {pair.name}"] = failure
          report(f"{prefix}: failed: {failure}")
          continue
        _, hr = pairs_lib.load_pair(pair)
        record = {"name": pair.name, "image": os.path.basename(pair.hr),
                  "lr_image": os.path.basename(pair.lr), **scoring.score(output, hr),
                  **method.extra(hr), **method.fields, "seconds": seconds}
        image_folder = os.path.join(folder, pair.name)
        images.save_image(os.path.join(image_folder, "sr_x4.png"),
                          output.astype("float32") / 255 * 2 - 1)
        files.write_json(os.path.join(image_folder, "metrics.json"), record)  # last: marks done
        report(f"{prefix}: done in {loop.format_seconds(seconds)}: {_scores_line(record)}")
      results[method.key].append(record)
      tables()
  report(f"summary: {os.path.join(workdir, 'summary.md')}")
  return results, failures
