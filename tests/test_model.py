import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sinir_jax as sj
from sinir_jax import model


def _release_params(data, prefix):
  return sj.params_from_torch({k[len(prefix) + 1:]: data[k] for k in data
                               if k.startswith(prefix + "/")})


def test_forward_matches_release(golden):
  data = golden("network_forward")
  params = _release_params(data, "param")
  out = sj.ScaleNet(32, 3).apply(params, data["x"][None])[0]
  np.testing.assert_allclose(np.asarray(out), data["y"], atol=1e-5, rtol=0)


def test_converted_params_have_init_structure(golden):
  params = _release_params(golden("network_forward"), "param")
  fresh = model.init_params(jax.random.key(0), 32, 3)
  assert jax.tree.structure(params) == jax.tree.structure(fresh)
  assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, fresh)


def test_init_is_pytorch_default():
  params = model.init_params(jax.random.key(0), 64, 3)["params"]
  for name, fan_in in [("from_rgb_0", 3), ("block_2", 64 * 9), ("to_rgb_1", 32)]:
    bound = 1 / np.sqrt(fan_in)
    for leaf in params[name].values():
      leaf = np.asarray(leaf)
      assert np.abs(leaf).max() <= bound
      if leaf.size >= 64:  # uniform over the whole range
        assert np.abs(leaf).max() > 0.9 * bound
        assert abs(leaf.std() - bound / np.sqrt(3)) < 0.25 * bound


def test_shapes_grey_and_range():
  net = sj.ScaleNet(16, 1)
  params = model.init_params(jax.random.key(1), 16, 1)
  out = net.apply(params, jnp.zeros((2, 13, 17, 1)))
  assert out.shape == (2, 13, 17, 1)
  assert float(jnp.abs(out).max()) <= 1.0


def test_jitted_net_compiles_once():
  traces = []
  net = sj.ScaleNet(8, 3)
  params = model.init_params(jax.random.key(0), 8, 3)

  @jax.jit
  def forward(p, x):
    traces.append(1)
    return net.apply(p, x)

  for seed in range(3):
    forward(params, jax.random.normal(jax.random.key(seed), (1, 12, 16, 3)))
  assert len(traces) == 1


# Below and above model._WINOGRAD_MIN_PIXELS (the CPU's Winograd form): odd and even sides,
# tiny images, batches.
@pytest.mark.parametrize("shape", [(2, 9, 13, 8), (1, 2, 3, 8), (1, 3, 2, 8), (1, 26, 25, 8),
                                   (2, 49, 50, 8), (1, 64, 37, 8), (1, 2, 1200, 8)])
def test_reflect_conv_matches_plain_conv_values_and_gradients(shape):
  x = jax.random.normal(jax.random.key(0), shape)
  kernel = jax.random.normal(jax.random.key(1), (3, 3, 8, 6)) * 0.2

  def plain(v, k):
    padded = jnp.pad(v, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    return jax.lax.conv_general_dilated(padded, k, (1, 1), "VALID",
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))

  np.testing.assert_allclose(model.reflect_conv3x3(x, kernel), plain(x, kernel), atol=1e-5)
  loss = lambda f: lambda v, k: jnp.sum(jnp.sin(f(v, k)))
  ours = jax.grad(loss(model.reflect_conv3x3), argnums=(0, 1))(x, kernel)
  reference = jax.grad(loss(plain), argnums=(0, 1))(x, kernel)
  for a, b in zip(ours, reference):
    np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)
