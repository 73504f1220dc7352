"""Shared test fixtures and helpers: golden values, tiny images and configs, the ../shared folder
when present."""
import atexit
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

# One persistent compilation cache for the whole session, subprocesses included: the CLI tests
# compile the same tiny steps again and again. Made by the first process (pytest-xdist's workers
# inherit it) and removed when that process exits.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="sinir_jax_cache_")
  atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
# Tiny programs, compiled by the hundred: compile fast rather than well (about a third faster).
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
                           " --xla_llvm_disable_expensive_passes=true")

# pylint: disable=wrong-import-position (JAX reads the cache settings above when imported)
import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import sinir_jax as sj  # noqa: E402

GOLDEN = pathlib.Path(__file__).parent / "golden"
REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = pathlib.Path(os.environ.get("SINIR_SHARED", REPO.parent / "shared"))

# The tiny SinIR config of most tests: 4 scales from 12 to 24 px, 8 channels, 6 steps a scale.
TINY = sj.Config(min_size=12, max_size=24, scale_factor=0.7, net_ch=8, iters=6, log_every=3)


def tiny_flags(**changes):
  """TINY (with ``changes``) as command-line flags."""
  return TINY.replace(**changes).to_flags()


def quiet(_):
  """A ``report`` that prints nothing."""


@pytest.fixture(scope="session")
def golden():
  """Loads tests/golden/<name>.npz."""
  return lambda name: np.load(GOLDEN / f"{name}.npz")


def smooth_image(h, w, channels=3, seed=0):
  """A deterministic image in [-1, 1] with structure at several scales (gradients + blobs)."""
  rng = np.random.default_rng(seed)
  yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
  planes = []
  for c in range(channels):
    fx, fy, phase = rng.uniform(1, 4, 2).tolist() + [rng.uniform(0, 6)]
    planes.append(0.6 * np.sin(2 * np.pi * (fx * xx + fy * yy) + phase) + 0.3 * (xx - yy))
  image = np.stack(planes, -1) + 0.1 * rng.standard_normal((h, w, channels))
  return np.clip(image, -1, 1).astype(np.float32)


def params_leaves(params_list):
  """The leaves of a list of param trees, as numpy arrays."""
  return [np.asarray(leaf) for leaf in jax.tree.leaves(list(params_list))]


def assert_identical(a, b):
  """Two lists of param trees are equal bit for bit."""
  for x, y in zip(params_leaves(a), params_leaves(b), strict=True):
    np.testing.assert_array_equal(x, y)


def release_params(data, prefix):
  """The release's weights stored under ``prefix/`` of a golden npz, as ScaleNet params."""
  return sj.params_from_torch({k[len(prefix) + 1:]: data[k] for k in data
                               if k.startswith(prefix + "/")})


_BATTERY = """
import contextlib, io, json, sys
from absl import flags
from sinir_jax.core import cli
import sinir_jax.{module} as tool
command = cli.Command(tool.__doc__)
tool.define_flags(command)
outcomes = {{}}
for name, argv in json.loads(sys.argv[1]).items():
  flags.FLAGS.unparse_flags()
  out, err, code = io.StringIO(), io.StringIO(), 0
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
      args = cli.parser(command)(["{module}", *argv])
      cli.guarded(tool.main)(args)
    except SystemExit as e:
      code = e.code if isinstance(e.code, int) else 1
    except BaseException as e:  # a traceback the tool let through
      import traceback
      traceback.print_exc(file=err)
      code = 1
  outcomes[name] = [code, out.getvalue(), err.getvalue()]
print(json.dumps(outcomes))
"""


def cli_battery(module, cases, **kwargs):
  """Runs ``python -m sinir_jax.<module>`` on each ``cases`` entry (name -> argv) in one
  process, as the tool would (flags parsed, errors as one line and an exit code): returns
  {name: (exit code, stdout, stderr)}."""
  result = subprocess.run([sys.executable, "-c", _BATTERY.format(module=module),
                           json.dumps({k: [str(a) for a in v] for k, v in cases.items()})],
                          capture_output=True, text=True, timeout=600, **kwargs)
  assert result.returncode == 0, result.stderr
  return {k: tuple(v) for k, v in json.loads(result.stdout.splitlines()[-1]).items()}


def reconstruction_loss(model, image):
  """The SinIR loss of ``model``'s reconstruction of its training ``image`` (the whole cascade
  from the coarsest level of the training pyramid, no shuffling)."""
  from sinir_jax.sinir import loss, trainer  # pylint: disable=import-outside-toplevel
  levels, _ = trainer.prepare(image, model.config)
  out = model.manipulate(np.asarray(levels[-1][0]), 0, fused=False)
  return float(loss.sinir_loss(out[None], levels[-1]))


def manifest_entries(checkpoints):
  """The entries of the checkpoint manifest in the folder ``checkpoints`` ({} while it is
  missing or half-written). A checkpoint counts as saved once its entry is there, written after
  orbax's files: a kill between the two rightly makes the rerun redo it."""
  try:
    return json.loads((pathlib.Path(checkpoints) / "manifest.json").read_text())["entries"]
  except (OSError, ValueError, KeyError):
    return {}
