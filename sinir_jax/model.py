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


def _reflect_pad(x):
  return jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")


# On XLA:CPU the 3x3 convs of images of at least _WINOGRAD_MIN_PIXELS run as Winograd's
# F(2x2, 3x3): each 2x2 output tile costs 16 multiplies per channel pair instead of 36, as 16
# (tiles, in) @ (in, out) matmuls between transforms of 4x4 input tiles and of the kernel. The
# same sums as the direct conv (float32 results differ by rounding, ~1e-6 relative). Measured on
# 2 cores, 128 channels, forward / forward + both gradients: 250 px 92 -> 72 / ~337 -> 217 ms
# against XLA's SAME conv plus border terms with the kernel gradient as nine shifted-input
# matmuls (this module's previous CPU path); against XLA's conv of the reflect-padded input,
# 125 px 57 -> 21 / 104 -> 57 ms, 64 px 10 -> 7 / 28 -> 20 ms, 48 px equal, 32 px slower
# (2.7 -> 4.0 / 6.6 -> 9.2 ms), so smaller images keep XLA's conv, which also compiles 5x faster.
# In one dimension, two outputs of a 3-tap correlation of the four inputs d are
# A^T [(G k) * (B^T d)], and the kernel gradient of that tile is G^T [(A dy) * (B^T d)].
_WINOGRAD_MIN_PIXELS = 48 * 48
_WINOGRAD_G = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], np.float32)


def _winograd_bt(d):
  """B^T d for four inputs (each a stride-2 slice)."""
  return [d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]]


def _winograd_a(dy):
  """A dy for two output gradients (each a stride-2 slice)."""
  return [dy[0], dy[0] + dy[1], dy[0] - dy[1], -dy[1]]


def _winograd_at(m):
  """A^T m for four transformed values: the two outputs."""
  return [m[0] + m[1] + m[2], m[1] - m[2] - m[3]]


def _tiles(h, w):
  return -(-h // 2), -(-w // 2)


def _pad_to_tiles(a, h, w):
  """``a`` (N, H, W, C) with a zero last row/column where the output size (h, w) is odd, so that
  2x2 output tiles cover it (outputs there are cropped, and their gradient is zero)."""
  tiles_h, tiles_w = _tiles(h, w)
  return jnp.pad(a, ((0, 0), (0, 2 * tiles_h - h), (0, 2 * tiles_w - w), (0, 0)))


def _input_tiles(padded, h, w):
  """The 16 transformed input tiles, each (N * tiles, C), of the VALID 3x3 conv of ``padded``
  (N, h + 2, w + 2, C) whose output is (h, w)."""
  tiles_h, tiles_w = _tiles(h, w)
  padded = _pad_to_tiles(padded, h, w)
  rows = _winograd_bt([padded[:, i:i + 2 * tiles_h:2] for i in range(4)])
  return [col.reshape(-1, padded.shape[-1]) for row in rows
          for col in _winograd_bt([row[:, :, j:j + 2 * tiles_w:2] for j in range(4)])]


def _winograd_conv(padded, kernel):
  """The VALID 3x3 conv of ``padded`` (N, h + 2, w + 2, in) with ``kernel`` (3, 3, in, out):
  (N, h, w, out)."""
  n, h, w = padded.shape[0], padded.shape[1] - 2, padded.shape[2] - 2
  tiles_h, tiles_w = _tiles(h, w)
  c, out = kernel.shape[2:]
  kernel_tiles = jnp.einsum("ai,bj,ijco->abco", _WINOGRAD_G, _WINOGRAD_G,
                            kernel.astype(jnp.float32)).reshape(16, c, out).astype(kernel.dtype)
  products = [jnp.matmul(v, kernel_tiles[t], preferred_element_type=jnp.float32).reshape(
      n, tiles_h, tiles_w, out) for t, v in enumerate(_input_tiles(padded, h, w))]
  # products[4 * i + j] is tile row transform i, column transform j; A^T along i, then along j:
  # outputs[a][b] holds the outputs at (2 * tile row + a, 2 * tile column + b).
  along_i = [_winograd_at(products[j::4]) for j in range(4)]
  outputs = [[_winograd_at([along_i[j][a] for j in range(4)])[b] for b in range(2)]
             for a in range(2)]
  y = jnp.stack([jnp.stack(row, axis=3) for row in outputs], axis=2)
  y = y.reshape(n, 2 * tiles_h, 2 * tiles_w, out)
  return y[:, :h, :w].astype(padded.dtype)


def _winograd_kernel_grad(padded, grad):
  """The kernel gradient (3, 3, in, out) of the VALID 3x3 conv of ``padded`` (N, h + 2, w + 2,
  in) for the output gradient ``grad`` (N, h, w, out)."""
  h, w = grad.shape[1:3]
  grad = _pad_to_tiles(grad, h, w)
  grads = [col.reshape(-1, grad.shape[-1])
           for row in _winograd_a([grad[:, i::2] for i in range(2)])
           for col in _winograd_a([row[:, :, j::2] for j in range(2)])]
  products = jnp.stack([
      jax.lax.dot_general(v, m, (((0,), (0,)), ((), ())), preferred_element_type=jnp.float32)
      for v, m in zip(_input_tiles(padded, h, w), grads)])
  return jnp.einsum("ai,bj,abco->ijco", _WINOGRAD_G, _WINOGRAD_G,
                    products.reshape(4, 4, *products.shape[1:]))


def _fold_reflect_pad(grad_padded):
  """The gradient of ``_reflect_pad``'s input from its output's: each padded row and column
  added to the row or column it copies."""
  h, w = grad_padded.shape[1] - 2, grad_padded.shape[2] - 2
  rows = grad_padded[:, 1:h + 1]
  rows = rows.at[:, 1].add(grad_padded[:, 0]).at[:, h - 2].add(grad_padded[:, h + 1])
  grad = rows[:, :, 1:w + 1]
  return grad.at[:, :, 1].add(rows[:, :, 0]).at[:, :, w - 2].add(rows[:, :, w + 1])


# A custom gradient, so that the backward keeps only x (autodiff would keep its 4x larger
# transform) and runs the input gradient as another Winograd conv.
@jax.custom_vjp
def _reflect_conv3x3_winograd(x, kernel):
  return _winograd_conv(_reflect_pad(x), kernel)


def _reflect_conv3x3_winograd_fwd(x, kernel):
  return _reflect_conv3x3_winograd(x, kernel), (x, kernel)


def _reflect_conv3x3_winograd_bwd(residuals, grad):
  # The input gradient is the full correlation of the gradient with the flipped kernel (a VALID
  # conv of the gradient zero-padded by 2), folded back through the reflection.
  x, kernel = residuals
  flipped = kernel[::-1, ::-1].transpose(0, 1, 3, 2)
  grad_padded = _winograd_conv(jnp.pad(grad, ((0, 0), (2, 2), (2, 2), (0, 0))), flipped)
  return (_fold_reflect_pad(grad_padded),
          _winograd_kernel_grad(_reflect_pad(x), grad).astype(kernel.dtype))


_reflect_conv3x3_winograd.defvjp(_reflect_conv3x3_winograd_fwd, _reflect_conv3x3_winograd_bwd)


def reflect_conv3x3(x, kernel):
  """3x3 conv of ``x`` (N, H, W, C) reflect-padded by 1: output (N, H, W, out).

  The same math on every backend; the formulation is chosen per backend and size for speed.
  """
  if jax.default_backend() == "cpu" and x.shape[1] * x.shape[2] >= _WINOGRAD_MIN_PIXELS:
    return _reflect_conv3x3_winograd(x, kernel)
  return jax.lax.conv_general_dilated(_reflect_pad(x), kernel, (1, 1), "VALID",
                                      dimension_numbers=("NHWC", "HWIO", "NHWC"))


class _ReflectConv3x3(nn.Module):
  """Reflection pad 1 + 3x3 conv with bias; params named like nn.Conv's (kernel, bias)."""
  features: int
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x):
    fan_in = x.shape[-1] * 9
    kernel = self.param("kernel", _torch_uniform(fan_in), (3, 3, x.shape[-1], self.features))
    bias = self.param("bias", _torch_uniform(fan_in), (self.features,))
    return reflect_conv3x3(x.astype(self.dtype), kernel.astype(self.dtype)) + bias.astype(
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
  float32, and instance norm and the output are computed in float32.
  """
  features: int = 128
  out_channels: int = 3
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    half = self.features // 2
    conv = functools.partial(_Conv1x1, dtype=self.dtype)
    x = conv(half, name="from_rgb_0")(x)
    x0 = conv(self.features, name="from_rgb_1")(x)
    x = x0
    for k in range(NUM_BLOCKS):
      x = _ReflectConv3x3(self.features, self.dtype, name=f"block_{k}")(x)
      x = (nn.leaky_relu(_instance_norm(x.astype(jnp.float32)), 0.2) + x0).astype(self.dtype)
    x = conv(half, name="to_rgb_0")(x)
    x = conv(self.out_channels, name="to_rgb_1")(x)
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
