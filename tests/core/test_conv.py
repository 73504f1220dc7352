"""The 3x3 convolutions: Winograd against XLA's conv on this backend, and the choice of
implementation."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sinir_jax.core import conv
from sinir_jax.core import winograd


def _reference(x, kernel, padding):
  mode = "reflect" if padding == "reflect" else "constant"
  padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode=mode)
  return jax.lax.conv_general_dilated(padded, kernel, (1, 1), "VALID",
                                      dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                      precision=jax.lax.Precision.HIGHEST)


# Odd and even sides, 2-pixel sides, batches, long rows; both paddings.
@pytest.mark.parametrize("padding", conv.PADDINGS)
@pytest.mark.parametrize("shape", [(2, 9, 13, 8), (1, 2, 3, 8), (1, 3, 2, 8), (1, 26, 25, 8),
                                   (2, 49, 50, 8), (1, 64, 37, 8), (1, 2, 1200, 8)])
def test_winograd_matches_xla_values_and_gradients(shape, padding):
  x = jax.random.normal(jax.random.key(0), shape)
  kernel = jax.random.normal(jax.random.key(1), (3, 3, 8, 6)) * 0.2
  with jax.default_matmul_precision("highest"):
    np.testing.assert_allclose(winograd.conv3x3(x, kernel, padding),
                               _reference(x, kernel, padding), atol=1e-5)
    loss = lambda f: lambda v, k: jnp.sum(jnp.sin(f(v, k, padding)))
    ours = jax.grad(loss(winograd.conv3x3), argnums=(0, 1))(x, kernel)
    reference = jax.grad(loss(_reference), argnums=(0, 1))(x, kernel)
  for a, b in zip(ours, reference):
    np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)


def test_xla_impl_is_xlas_conv():
  x = jax.random.normal(jax.random.key(2), (1, 7, 9, 4))
  kernel = jax.random.normal(jax.random.key(3), (3, 3, 4, 5))
  for padding in conv.PADDINGS:
    np.testing.assert_array_equal(conv.xla_conv3x3(x, kernel, padding),
                                  jax.lax.conv_general_dilated(
                                      winograd.pad(x, padding), kernel, (1, 1), "VALID",
                                      dimension_numbers=("NHWC", "HWIO", "NHWC")))


def test_auto_is_the_cpu_size_rule_on_cpu_and_xla_elsewhere(monkeypatch):
  assert conv.resolve("auto", "cpu") == "cpu"
  assert conv.resolve("auto", "gpu") == conv.resolve("auto", "tpu") == "xla"
  assert conv.resolve("winograd", "gpu") == "winograd" and conv.resolve("xla", "cpu") == "xla"
  with pytest.raises(ValueError):
    conv.resolve("fft")
  calls = []
  real = winograd.conv3x3

  def counting(x, kernel, padding):
    calls.append(x.shape)
    return real(x, kernel, padding)

  monkeypatch.setattr(winograd, "conv3x3", counting)
  kernel = jnp.zeros((3, 3, 2, 2))
  conv.cpu_conv3x3(jnp.zeros((1, 47, 49, 2)), kernel)  # 2303 px: XLA's conv
  conv.cpu_conv3x3(jnp.zeros((1, 48, 48, 2)), kernel)  # 2304 px: Winograd
  assert calls == [(1, 48, 48, 2)]


def test_same_function_for_the_same_choice():
  assert conv.conv3x3_for("auto") is conv.conv3x3_for("auto")
  assert conv.conv3x3_for("xla", "zero") is not conv.conv3x3_for("xla", "reflect")
