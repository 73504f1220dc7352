"""ZSSR's network: ``depth`` 3x3 convs, ``width`` channels, ReLU between, no biases, predicting a
residual over its input (the bicubic-upscaled LR image), in NHWC, values on 0..1."""
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from sinir_jax.core import conv


def _normal(init_variance):
  """The official init: N(0, init_variance / fan_in), fan_in = 9 x input channels."""
  def init(key, shape, dtype=jnp.float32):
    return jax.random.normal(key, shape, dtype) * jnp.sqrt(init_variance / (9 * shape[2]))
  return init


class ZSSRNet(nn.Module):
  """x (N, H, W, C) on 0..1 -> x + the stack's residual (not clipped: the loss sees it raw)."""
  width: int = 64
  depth: int = 8
  init_variance: float = 0.1
  conv3x3: Callable = conv.conv3x3_for("xla", "zero")

  @nn.compact
  def __call__(self, x):
    y, channels = x, x.shape[-1]
    for layer in range(self.depth):
      out = channels if layer == self.depth - 1 else self.width
      kernel = self.param(f"conv_{layer}", _normal(self.init_variance), (3, 3, y.shape[-1], out))
      y = self.conv3x3(y, kernel)
      if layer < self.depth - 1:
        y = nn.relu(y)
    return x + y


def for_config(config):
  """The ZSSRNet of a ZSSRConfig, its 3x3 convs of implementation ``conv_impl``."""
  return ZSSRNet(config.width, config.depth, config.init_variance,
                 conv.conv3x3_for(config.conv_impl, "zero"))
