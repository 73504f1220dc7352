import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sinir_jax as sj

CASES = ["9x13", "40x50", "17x23", "12x30", "long30"]


@pytest.mark.parametrize("method", ["pytorch", "matlab"])
@pytest.mark.parametrize("case", CASES)
def test_matches_release(golden, method, case):
  data = golden("resize")
  size = 30 if case == "long30" else tuple(int(s) for s in case.split("x"))
  out = np.asarray(sj.resize(data["x"], size, method))
  expected = data[f"{method}_{case}"]
  assert out.shape == expected.shape
  np.testing.assert_allclose(out, expected, atol=1e-5, rtol=0)


def test_matlab_ramp(golden):
  ramp = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
  out = np.asarray(sj.resize(ramp, (3, 3), "matlab"))[..., 0]
  np.testing.assert_allclose(out, golden("resize")["matlab_ramp4_to3"], atol=1e-5)
  np.testing.assert_allclose(out[1, 1], 7.5, atol=1e-6)


@pytest.mark.parametrize("method", ["pytorch", "matlab"])
def test_batched_equals_per_image_and_jit(method):
  x = np.random.default_rng(0).uniform(-1, 1, (3, 11, 14, 2)).astype(np.float32)
  batched = np.asarray(jax.jit(lambda v: sj.resize(v, (7, 20), method))(x))
  for i in range(3):
    np.testing.assert_allclose(batched[i], np.asarray(sj.resize(x[i], (7, 20), method)),
                               atol=1e-6)


def test_pytorch_clamps_and_matlab_does_not():
  x = np.zeros((6, 6, 1), np.float32)
  x[::2] = 1.0  # stripes overshoot under bicubic upsampling
  assert float(jnp.max(sj.resize(x, (13, 13), "pytorch"))) <= 1.0
  assert float(jnp.max(sj.resize(x, (13, 13), "matlab"))) > 1.0


@pytest.mark.parametrize("method", ["pytorch", "matlab"])
def test_differentiable(method):
  x = np.random.default_rng(1).uniform(-0.5, 0.5, (8, 9, 3)).astype(np.float32)
  grad = jax.grad(lambda v: jnp.sum(sj.resize(v, (5, 12), method) ** 2))(x)
  assert grad.shape == x.shape and bool(jnp.all(jnp.isfinite(grad)))
  assert float(jnp.abs(grad).sum()) > 0


def test_unknown_method():
  with pytest.raises(ValueError, match="pytorch"):
    sj.resize(np.zeros((4, 4, 3)), (2, 2), "lanczos")
