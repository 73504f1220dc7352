"""The network of one scale (spec section 4), in NHWC, with PyTorch's default initialisation."""
import functools
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from sinir_jax.core import conv

NUM_BLOCKS = 6


def _torch_uniform(fan_in):
  """PyTorch's default Conv2d init: kernel and bias uniform in +-1/sqrt(fan_in)."""
  bound = 1.0 / np.sqrt(fan_in)

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


class _Conv1x1(nn.Module):
  """1x1 conv with bias; params named and shaped like nn.Conv's ((1, 1, in, out) kernel, bias)."""
  features: int
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x):
    fan_in = x.shape[-1]
    kernel = self.param("kernel", _torch_uniform(fan_in), (1, 1, fan_in, self.features))
    bias = self.param("bias", _torch_uniform(fan_in), (self.features,))
    # A matmul over the flattened pixels: XLA:CPU's 1x1 conv ran the four of a net 3.5x slower
    # forward + backward (241 -> 69 ms at 250 px on 2 cores; a 64 -> 128 kernel gradient 124 ms
    # against 16).
    y = jnp.matmul(x.reshape(-1, fan_in).astype(self.dtype), kernel[0, 0].astype(self.dtype))
    return y.reshape(*x.shape[:-1], self.features) + bias.astype(self.dtype)


class _ReflectConv3x3(nn.Module):
  """Reflection pad 1 + 3x3 conv with bias; params named like nn.Conv's (kernel, bias)."""
  features: int
  dtype: jnp.dtype
  conv3x3: Callable

  @nn.compact
  def __call__(self, x):
    fan_in = x.shape[-1] * 9
    kernel = self.param("kernel", _torch_uniform(fan_in), (3, 3, x.shape[-1], self.features))
    bias = self.param("bias", _torch_uniform(fan_in), (self.features,))
    return self.conv3x3(x.astype(self.dtype), kernel.astype(self.dtype)) + bias.astype(
        self.dtype)


def _instance_norm(x, eps=1e-5):
  mean = jnp.mean(x, axis=(-3, -2), keepdims=True)
  var = jnp.mean(jnp.square(x - mean), axis=(-3, -2), keepdims=True)
  return (x - mean) * jax.lax.rsqrt(var + eps)


class ScaleNet(nn.Module):
  """SinIR's fully convolutional net of one scale.

  from_rgb (two 1x1 convs to ``features``), six blocks of [reflection pad 1, 3x3 conv,
  instance norm, leaky ReLU 0.2], each followed by adding the from_rgb output, then to_rgb (two
  1x1 convs to ``out_channels``) and tanh. Input and output: (N, H, W, C) in [-1, 1], float32.

  ``dtype`` is the convolutions' compute dtype (bfloat16 is an opt-in fast mode); params stay
  float32, and instance norm and the output are computed in float32. ``conv3x3`` is the 3x3
  conv's implementation (``sinir_jax.core.conv``), chosen once by ``for_config``.
  """
  features: int = 128
  out_channels: int = 3
  dtype: jnp.dtype = jnp.float32
  conv3x3: Callable = conv.conv3x3_for("xla")

  @nn.compact
  def __call__(self, x):
    half = self.features // 2
    conv = functools.partial(_Conv1x1, dtype=self.dtype)
    x = conv(half, name="from_rgb_0")(x)
    x0 = conv(self.features, name="from_rgb_1")(x)
    x = x0
    for k in range(NUM_BLOCKS):
      x = _ReflectConv3x3(self.features, self.dtype, self.conv3x3, name=f"block_{k}")(x)
      x = (nn.leaky_relu(_instance_norm(x.astype(jnp.float32)), 0.2) + x0).astype(self.dtype)
    x = conv(half, name="to_rgb_0")(x)
    x = conv(self.out_channels, name="to_rgb_1")(x)
    return jnp.tanh(x.astype(jnp.float32))


def for_config(config, channels):
  """The ScaleNet a Config trains: ``net_ch`` features, compute dtype ``precision``, 3x3 convs
  of implementation ``conv_impl``."""
  return ScaleNet(config.net_ch, channels, jnp.dtype(config.precision),
                  conv.conv3x3_for(config.conv_impl, "reflect"))


def init_params(key, features, channels):
  """Fresh ScaleNet params with PyTorch's default conv initialisation."""
  return _init(features, channels)(key)


@functools.lru_cache(maxsize=None)
def _init(features, channels):
  # Jitted: one program, where eager init compiles each param's ops on its own (the same bits).
  net = ScaleNet(features, channels)
  return jax.jit(lambda key: net.init(key, jnp.zeros((1, 8, 8, channels), jnp.float32)))


def abstract_params(features, channels):
  """Shapes and dtypes of ScaleNet params, for restoring checkpoints."""
  return jax.eval_shape(lambda key: init_params(key, features, channels), jax.random.key(0))


def _torch_names():
  """ScaleNet's layer names paired with the release's module names."""
  names = [("from_rgb_0", "from_rgb.0"), ("from_rgb_1", "from_rgb.1")]
  names += [(f"block_{k}", f"layers.{k}.layer.1") for k in range(NUM_BLOCKS)]
  return names + [("to_rgb_0", "to_rgb.0"), ("to_rgb_1", "to_rgb.1")]


def params_from_torch(state_dict):
  """Converts the release's state_dict (numpy arrays by torch name) into ScaleNet params.

  Kernels go from torch's (out, in, kh, kw) to flax's (kh, kw, in, out).
  """
  params = {}
  for flax_name, torch_name in _torch_names():
    kernel = np.asarray(state_dict[f"{torch_name}.weight"], np.float32)
    params[flax_name] = {
        "kernel": jnp.asarray(kernel.transpose(2, 3, 1, 0)),
        "bias": jnp.asarray(np.asarray(state_dict[f"{torch_name}.bias"], np.float32)),
    }
  return {"params": params}
