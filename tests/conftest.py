"""Shared test fixtures: golden values, tiny images, and the ../shared folder when present."""
import atexit
import os
import pathlib
import shutil
import tempfile

import numpy as np
import pytest

# One persistent compilation cache for the whole session, subprocesses included: the CLI tests
# compile the same tiny steps again and again. Made by the first process (pytest-xdist's workers
# inherit it) and removed when that process exits.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="sinir_jax_cache_")
  atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

GOLDEN = pathlib.Path(__file__).parent / "golden"
REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = pathlib.Path(os.environ.get("SINIR_SHARED", REPO.parent / "shared"))


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
