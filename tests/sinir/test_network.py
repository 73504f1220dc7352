import jax
import jax.numpy as jnp
import numpy as np

import sinir_jax as sj
from sinir_jax.core import conv
from sinir_jax.sinir import network as model
from conftest import TINY, release_params


def test_forward_matches_release(golden):
  data = golden("network_forward")
  params = release_params(data, "param")
  out = sj.ScaleNet(32, 3).apply(params, data["x"][None])[0]
  np.testing.assert_allclose(np.asarray(out), data["y"], atol=1e-5, rtol=0)


def test_converted_params_have_init_structure(golden):
  params = release_params(golden("network_forward"), "param")
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


def test_forward_matches_release_with_every_conv_impl(golden):
  data = golden("network_forward")
  params = release_params(data, "param")
  for impl in conv.IMPLS:
    net = model.for_config(TINY.replace(net_ch=32, conv_impl=impl), 3)
    out = net.apply(params, data["x"][None])[0]
    np.testing.assert_allclose(np.asarray(out), data["y"], atol=1e-5, rtol=0)


def test_for_config_builds_equal_nets():
  # Equal nets hash equal, so a jitted function taking the net as a static argument (the
  # cascade's stages) does not recompile for a new Model of the same config.
  a, b = model.for_config(TINY, 3), model.for_config(TINY, 3)
  assert a == b and hash(a) == hash(b)
  assert model.for_config(TINY.replace(conv_impl="winograd"), 3) != a
