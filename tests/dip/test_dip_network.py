"""The skip network: official param counts, shapes at odd sizes, the concat crop, upsampling,
batch norm on batch statistics, PyTorch 0.4's init."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sinir_jax.dip import config as config_lib
from sinir_jax.dip import network

# The notes' counts: weights, biases, BN scales and biases.
@pytest.mark.parametrize("net, in_channels, count", [
    ("skip", 32, 2_217_831), ("snail", 3, 572_827), ("kate", 32, 3_002_627),
    ("vase", 2, 2_157_955), ("library", 1, 2_996_467)])
def test_param_counts_of_the_official_nets(net, in_channels, count):
  config = config_lib.DIPConfig(task="denoise", net=net).validate()
  assert network.param_count(config_lib.net_for(config, 3), in_channels) == count


def _out_shape(net, h, w, channels=2):
  params = jax.eval_shape(net.init, jax.random.key(0), jnp.zeros((1, h, w, channels)))
  return jax.eval_shape(net.apply, params, jnp.zeros((1, h, w, channels))).shape


def test_shapes_at_odd_sizes():
  tiny = dict(down=(4, 4), up=(4, 4), filter_down=3, out_channels=3)
  # Skips at every level crop each upsampled map back: any size comes out as it went in.
  assert _out_shape(network.Skip(skip=(2, 2), **tiny), 37, 29) == (1, 37, 29, 3)
  # Without a skip at level 0 nothing crops there: 37 -> 19 -> 10 -> (up, cropped to the
  # level-1 skip's 19) -> 38.
  assert _out_shape(network.Skip(skip=(0, 2), **tiny), 37, 29) == (1, 38, 30, 3)
  # Pooling floors: 37 -> 18 -> 9 -> 18 -> 36 (the skip's 37 cropped to 36).
  for mode in ("avg", "max"):
    assert _out_shape(network.Skip(skip=(2, 2), downsample=mode, **tiny), 37, 29) == (
        1, 36, 28, 3)
  assert _out_shape(network.Skip(skip=(2, 2), **tiny), 32, 16) == (1, 32, 16, 3)


def test_concat_puts_the_skip_first_and_centre_crops():
  a = jnp.arange(36.0).reshape(1, 6, 6, 1)
  b = jnp.arange(2 * 20.0).reshape(1, 4, 5, 2)
  y = network.concat(a, b)
  assert y.shape == (1, 4, 5, 3)
  np.testing.assert_array_equal(y[..., 0], a[:, 1:5, 0:5, 0])  # offsets (6-4)//2, (6-5)//2
  np.testing.assert_array_equal(y[..., 1:], b)


def test_upsampling():
  x = jnp.array([0.0, 1.0, 2.0, 3.0]).reshape(1, 1, 4, 1) * jnp.ones((1, 2, 1, 1))
  bilinear = network.upsample2x(x, "bilinear")[0, 0, :, 0]
  # align_corners=False: half-pixel centres, edges clamped (PyTorch >= 0.4's nn.Upsample).
  np.testing.assert_allclose(bilinear, [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3], atol=1e-6)
  nearest = network.upsample2x(x, "nearest")
  np.testing.assert_array_equal(nearest[0, :, :, 0], [[0, 0, 1, 1, 2, 2, 3, 3]] * 4)


def test_batch_norm_uses_the_batch_statistics():
  x = jax.random.normal(jax.random.key(1), (1, 5, 7, 2)) * jnp.array([3.0, 0.5]) + 4
  y = network.BatchNorm().apply({"params": {"scale": jnp.array([2.0, 1.0]),
                                            "bias": jnp.array([1.0, -1.0])}}, x)
  var = np.var(np.asarray(x), axis=(0, 1, 2))
  np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), [1, -1], atol=1e-5)
  np.testing.assert_allclose(y.var(axis=(0, 1, 2)), np.array([4, 1]) * var / (var + 1e-5),
                             rtol=1e-4)


def test_init_is_pytorch_04s_default():
  net = network.Skip(down=(16,), up=(16,), skip=(8,), filter_down=5)
  params = jax.jit(net.init)(jax.random.key(0), jnp.zeros((1, 8, 8, 32)))["params"]
  convs = [name for name in params if name.endswith("_conv")]
  bns = [name for name in params if name.endswith("_bn")]
  assert len(convs) == 6 and len(bns) == 6  # a level's 5 convs and 6 BNs, the output conv
  for name in convs:
    kernel, bias = np.asarray(params[name]["kernel"]), np.asarray(params[name]["bias"])
    bound = 1 / np.sqrt(np.prod(kernel.shape[:3]))  # fan_in = k * k * in
    for leaf in (kernel, bias):
      assert np.abs(leaf).max() <= bound
    if kernel.size >= 256:
      assert np.abs(kernel).max() > 0.9 * bound
      assert abs(kernel.std() - bound / np.sqrt(3)) < 0.15 * bound
  scales = np.concatenate([np.asarray(params[name]["scale"]) for name in bns])
  assert scales.min() >= 0 and scales.max() < 1 and 0.3 < scales.mean() < 0.7  # U(0, 1)
  for name in bns:
    np.testing.assert_array_equal(params[name]["bias"], 0)
  assert params["level0_down0_conv"]["kernel"].shape == (5, 5, 32, 16)
