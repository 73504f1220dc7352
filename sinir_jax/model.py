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


_DIMS = ("NHWC", "HWIO", "NHWC")


def _reflect_pad(x):
  return jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")


def _conv(x, kernel, padding):
  return jax.lax.conv_general_dilated(x, kernel, (1, 1), padding, dimension_numbers=_DIMS)


def _row_term(row, kernel_row):
  return _conv(row, kernel_row, ((0, 0), (1, 1)))


def _column_term(column, kernel_column):
  return _conv(jnp.pad(column, ((0, 0), (1, 1), (0, 0), (0, 0)), mode="reflect"),
               kernel_column, "VALID")


def _border_terms(h, w):
  """(term, the input row/column it reads, its kernel taps, the output row/column it adds to)
  for the top, bottom, left and right borders."""
  s = np.s_
  return ((_row_term, s[:, 1:2], s[0:1], s[:, :1]),
          (_row_term, s[:, h - 2:h - 1], s[2:3], s[:, h - 1:]),
          (_column_term, s[:, :, 1:2], s[:, 0:1], s[:, :, :1]),
          (_column_term, s[:, :, w - 2:w - 1], s[:, 2:3], s[:, :, w - 1:]))


def _conv_reflect_by_borders(x, kernel):
  # Equal to a VALID conv of the reflect-padded input: a zero-padded SAME conv plus the conv of
  # (reflect - zero) padding, which reaches only the outermost output rows and columns (the
  # corners once, through the column terms). XLA:CPU runs the VALID conv 3.5x slower than the
  # SAME one, and padding + cropping copies cost 20 %: measured at 250x250x128 on 2 cores,
  # VALID 335 ms, SAME of the padded input cropped 114 ms, this 91 ms (input gradient 134 -> 94).
  y = _conv(x, kernel, "SAME")
  for term, source, taps, target in _border_terms(*x.shape[1:3]):
    y = y.at[target].add(term(x[source], kernel[taps]))
  return y


def _conv_reflect_by_borders_grad_x(x, kernel, grad):
  # The SAME conv's input gradient, plus each border term's added in place into the row or
  # column it read, where XLA's own transpose pads each term's to the full size before adding
  # (16 full-size adds per net at 250 px; a net's forward + backward measured ~2 % faster).
  grad_x = jax.vjp(lambda v: _conv(v, kernel, "SAME"), x)[1](grad)[0]
  for term, source, taps, target in _border_terms(*x.shape[1:3]):
    _, term_vjp = jax.vjp(lambda part, t=term, k=kernel[taps]: t(part, k), x[source])
    grad_x = grad_x.at[source].add(term_vjp(grad[target])[0])
  return grad_x


@jax.custom_vjp
def _reflect_conv3x3_cpu(x, kernel):
  return _conv_reflect_by_borders(x, kernel)


def _reflect_conv3x3_cpu_fwd(x, kernel):
  return _conv_reflect_by_borders(x, kernel), (x, kernel)


def _reflect_conv3x3_cpu_bwd(residuals, grad):
  # XLA:CPU's own kernel gradient of this conv runs ~4x slower than PyTorch's (317 vs 77 ms at
  # 250x167x128). Here it is nine plain matmuls: with the padded input flattened to rows of
  # pixels, the tap (i, j) is the slice starting at row i * (w + 2) + j, contracted with the
  # output gradient laid out on the same (w + 2)-wide rows (two zero columns). The gradient is
  # transposed once so every matmul is (out, pixels) @ (pixels, in), the layout XLA:CPU runs
  # fastest; the barriers keep XLA from fusing the pads and the transpose into slow strided
  # loops (measured: a 250 px train step 5.0 s -> 3.0 s on 2 cores).
  x, kernel = residuals
  n, h, w, c = x.shape
  row = w + 2
  pixels = h * row
  padded = jnp.pad(_reflect_pad(x).reshape(n, (h + 2) * row, c), ((0, 0), (0, 2), (0, 0)))
  grad_rows = jnp.pad(grad, ((0, 0), (0, 0), (0, 2), (0, 0))).reshape(n * pixels, -1)
  padded, grad_rows = jax.lax.optimization_barrier((padded, grad_rows))
  grad_t = jax.lax.optimization_barrier(grad_rows.T)
  taps = [jnp.matmul(grad_t, padded[:, i * row + j:i * row + j + pixels].reshape(n * pixels, c),
                     preferred_element_type=jnp.float32)
          for i in range(3) for j in range(3)]
  grad_kernel = jnp.stack(taps).reshape(3, 3, -1, c).transpose(0, 1, 3, 2)
  return _conv_reflect_by_borders_grad_x(x, kernel, grad), grad_kernel.astype(kernel.dtype)


_reflect_conv3x3_cpu.defvjp(_reflect_conv3x3_cpu_fwd, _reflect_conv3x3_cpu_bwd)


def reflect_conv3x3(x, kernel):
  """3x3 conv of ``x`` (N, H, W, C) reflect-padded by 1: output (N, H, W, out).

  The same math on every backend; the formulation is chosen per backend for speed.
  """
  if jax.default_backend() == "cpu":
    return _reflect_conv3x3_cpu(x, kernel)
  return jax.lax.conv_general_dilated(_reflect_pad(x), kernel, (1, 1), "VALID",
                                      dimension_numbers=_DIMS)


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
