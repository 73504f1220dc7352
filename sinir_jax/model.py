"""The network of one scale (spec section 4), in NHWC, with PyTorch's default initialisation."""
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

NUM_BLOCKS = 6


def _torch_uniform(fan_in):
  """PyTorch's default Conv2d init: kernel and bias uniform in +-1/sqrt(fan_in)."""
  bound = 1.0 / np.sqrt(fan_in)

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


def _conv(name, features, in_features, kernel, dtype):
  fan_in = in_features * kernel * kernel
  return nn.Conv(features, (kernel, kernel), padding="VALID", name=name, dtype=dtype,
                 kernel_init=_torch_uniform(fan_in), bias_init=_torch_uniform(fan_in))


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
  float32, and instance norm and the output are computed in float32.
  """
  features: int = 128
  out_channels: int = 3
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    half = self.features // 2
    conv = functools.partial(_conv, dtype=self.dtype)
    x = conv("from_rgb_0", half, x.shape[-1], 1)(x)
    x0 = conv("from_rgb_1", self.features, half, 1)(x)
    x = x0
    for k in range(NUM_BLOCKS):
      x = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
      x = conv(f"block_{k}", self.features, self.features, 3)(x)
      x = (nn.leaky_relu(_instance_norm(x.astype(jnp.float32)), 0.2) + x0).astype(self.dtype)
    x = conv("to_rgb_0", half, self.features, 1)(x)
    x = conv("to_rgb_1", self.out_channels, half, 1)(x)
    return jnp.tanh(x.astype(jnp.float32))


def for_config(config, channels):
  """The ScaleNet a Config trains: ``net_ch`` features, compute dtype ``precision``."""
  return ScaleNet(config.net_ch, channels, jnp.dtype(config.precision))


def init_params(key, features, channels):
  """Fresh ScaleNet params with PyTorch's default conv initialisation."""
  return ScaleNet(features, channels).init(key, jnp.zeros((1, 8, 8, channels), jnp.float32))


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
