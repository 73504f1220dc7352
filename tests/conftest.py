"""Shared test fixtures and helpers: golden values, tiny images and configs, the ../shared folder
when present."""
import atexit
import os
import pathlib
import shutil
import tempfile

# One persistent compilation cache for the whole session, subprocesses included: the CLI tests
# compile the same tiny steps again and again. Made by the first process (pytest-xdist's workers
# inherit it) and removed when that process exits.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="sinir_jax_cache_")
  atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

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
