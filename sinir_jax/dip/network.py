"""Deep Image Prior's "skip" encoder-decoder (``models/skip.py`` of the official code), NHWC.

Level i (0 = the finest) takes x at resolution R and returns ``up[i]`` channels at R:

  skip branch (if skip[i] > 0): s = act(BN(conv_{filter_skip}(x -> skip[i])))             @ R
  deep branch: d = act(BN(conv_{filter_down}(x -> down[i], stride 2)))                     @ R/2
               (or a stride-1 conv then 2x2 average / max pooling: ``downsample``)
               d = act(BN(conv_{filter_down}(d -> down[i])))                               @ R/2
               d = level i + 1 (d)        (none after the deepest level)
               d = 2x upsampling of d (nearest, or bilinear with half-pixel centres)       @ R
  y = BN(concat(s, d))      skip first, both centre-cropped to the smaller size; no activation
  y = act(BN(conv_{filter_up}(y -> up[i])))
  y = act(BN(conv_1x1(y -> up[i])))          (only with ``need1x1_up``)

then a 1x1 conv to ``out_channels`` (and a sigmoid). Every conv has a bias and pads by
(k - 1) // 2 pixels (reflection, or zeros), so a stride-2 conv maps H to ceil(H / 2); act is
LeakyReLU(0.2). Batch norm always normalises with the statistics of the batch it is given
(per-channel mean and biased variance, eps 1e-5), as the official nets, which are never put in
eval mode; there are no running averages. Bilinear 2x upsampling is PyTorch's
``nn.Upsample(mode='bilinear')`` since 0.4 (align_corners=False), which ``jax.image.resize``
computes too.

Initialisation is PyTorch 0.4's default, the one the official code ran with: conv kernels and
biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels * k * k; batch-norm scale
U(0, 1) (PyTorch made it 1 later, in 1.0) and bias 0.

Stride-1 3x3 convs, most of the net's work, use ``sinir_jax.core.conv``'s implementation
``conv_impl`` (on CPU, Winograd from 48x48 pixels); 1x1 convs are matmuls.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from sinir_jax.core import conv

DOWNSAMPLE = ("stride", "avg", "max")
UPSAMPLE = ("nearest", "bilinear")
PADS = ("reflection", "zero")
BN_EPS = 1e-5
LEAKY_SLOPE = 0.2


def _torch_uniform(fan_in):
  bound = 1.0 / fan_in ** 0.5

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


class _Conv(nn.Module):
  """A k x k conv with bias, stride 1 or 2, padded by (k - 1) // 2 (``pad``)."""
  features: int
  size: int
  stride: int = 1
  pad: str = "reflection"
  conv_impl: str = "xla"

  @nn.compact
  def __call__(self, x):
    cin, k = x.shape[-1], self.size
    init = _torch_uniform(cin * k * k)
    kernel = self.param("kernel", init, (k, k, cin, self.features))
    bias = self.param("bias", init, (self.features,))
    if k == 1 and self.stride == 1:
      y = jnp.matmul(x.reshape(-1, cin), kernel[0, 0]).reshape(*x.shape[:-1], self.features)
    elif k == 3 and self.stride == 1:
      y = conv.conv3x3_for(self.conv_impl, "reflect" if self.pad == "reflection" else "zero")(
          x, kernel)
    else:
      p = (k - 1) // 2
      x = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)),
                  mode="reflect" if self.pad == "reflection" else "constant")
      y = jax.lax.conv_general_dilated(x, kernel, (self.stride, self.stride), "VALID",
                                       dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + bias


class BatchNorm(nn.Module):
  """Batch norm on the batch's own statistics (the official nets' train mode, always)."""

  @nn.compact
  def __call__(self, x):
    channels = x.shape[-1]
    scale = self.param("scale", jax.random.uniform, (channels,))  # PyTorch 0.4: U(0, 1)
    bias = self.param("bias", nn.initializers.zeros, (channels,))
    mean = jnp.mean(x, axis=(0, 1, 2))
    var = jnp.mean(jnp.square(x - mean), axis=(0, 1, 2))
    return (x - mean) * jax.lax.rsqrt(var + BN_EPS) * scale + bias


def _act(x):
  return nn.leaky_relu(x, LEAKY_SLOPE)


def _pool(x, mode):
  """2x2 pooling with stride 2, an odd last row or column dropped (PyTorch's floor mode)."""
  n, h, w, c = x.shape
  x = x[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c)
  return x.mean(axis=(2, 4)) if mode == "avg" else x.max(axis=(2, 4))


def upsample2x(x, mode):
  """2x upsampling: "nearest" repeats each pixel 2x2; "bilinear" has half-pixel centres and
  clamped edges (PyTorch's align_corners=False)."""
  if mode == "nearest":
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)
  n, h, w, c = x.shape
  return jax.image.resize(x, (n, 2 * h, 2 * w, c), "bilinear")


def centre_crop(x, h, w):
  """The centre (h, w) window of ``x`` (N, H, W, C), offsets (H - h) // 2 and (W - w) // 2."""
  top, left = (x.shape[1] - h) // 2, (x.shape[2] - w) // 2
  return x[:, top:top + h, left:left + w]


def concat(*branches):
  """The branches centre-cropped to their smallest height and width, joined along channels."""
  h = min(b.shape[1] for b in branches)
  w = min(b.shape[2] for b in branches)
  return jnp.concatenate([centre_crop(b, h, w) for b in branches], axis=-1)


def per_level(value, depth):
  """A scalar setting repeated for each level, or a per-level tuple as is."""
  return tuple(value) if isinstance(value, (tuple, list)) else (value,) * depth


class Skip(nn.Module):
  """The official "skip" net (module docstring). Lists run from the finest level to the
  deepest; their length is the depth. Filter sizes and ``upsample`` may be one value or one per
  level. Input (N, H, W, C_in); output (N, H', W', out_channels) in (0, 1) with ``sigmoid``;
  H' = H when H is a multiple of 2 ** depth (and with every skip > 0, for any H)."""
  down: tuple = (128,) * 5
  up: tuple = (128,) * 5
  skip: tuple = (4,) * 5
  filter_down: int | tuple = 3
  filter_up: int | tuple = 3
  filter_skip: int | tuple = 1
  out_channels: int = 3
  downsample: str = "stride"
  upsample: str | tuple = "bilinear"
  pad: str = "reflection"
  need1x1_up: bool = True
  sigmoid: bool = True
  conv_impl: str = "xla"

  @property
  def depth(self):
    return len(self.down)

  @nn.compact
  def __call__(self, z):
    depth = self.depth
    if not len(self.up) == len(self.skip) == depth:
      raise ValueError(f"down, up and skip need one entry per level: {self.down}, {self.up}, "
                       f"{self.skip}")
    fd, fu, fs = (per_level(f, depth) for f in (self.filter_down, self.filter_up,
                                                 self.filter_skip))
    modes = per_level(self.upsample, depth)

    def conv_(features, size, name, stride=1):
      return _Conv(features, size, stride, self.pad, self.conv_impl, name=name)

    def block(x, features, size, name):
      """act(BN(conv(x)))."""
      return _act(BatchNorm(name=f"{name}_bn")(conv_(features, size, f"{name}_conv")(x)))

    def level(i, x):
      branches = []
      if self.skip[i]:
        branches.append(block(x, self.skip[i], fs[i], f"level{i}_skip"))
      if self.downsample == "stride":
        d = conv_(self.down[i], fd[i], f"level{i}_down0_conv", stride=2)(x)
      else:
        d = _pool(conv_(self.down[i], fd[i], f"level{i}_down0_conv")(x), self.downsample)
      d = _act(BatchNorm(name=f"level{i}_down0_bn")(d))
      d = block(d, self.down[i], fd[i], f"level{i}_down1")
      if i + 1 < depth:
        d = level(i + 1, d)
      branches.append(upsample2x(d, modes[i]))
      y = BatchNorm(name=f"level{i}_concat_bn")(concat(*branches))
      y = block(y, self.up[i], fu[i], f"level{i}_up0")
      if self.need1x1_up:
        y = block(y, self.up[i], 1, f"level{i}_up1")
      return y

    y = conv_(self.out_channels, 1, "output_conv")(level(0, z))
    return jax.nn.sigmoid(y) if self.sigmoid else y


def param_count(net, in_channels):
  """The number of parameters (conv kernels and biases, BN scales and biases) of ``net``."""
  size = 2 ** net.depth * 4
  shapes = jax.eval_shape(net.init, jax.random.key(0), jnp.zeros((1, size, size, in_channels)))
  return sum(leaf.size for leaf in jax.tree.leaves(shapes))


def min_side(net):
  """The smallest side the net runs on without padding past an image: 2 ** depth pixels at the
  deepest level's resolution times (the widest conv's padding + 1)."""
  widest = max(per_level(net.filter_down, net.depth) + per_level(net.filter_up, net.depth)
               + per_level(net.filter_skip, net.depth))
  return 2 ** net.depth * ((widest - 1) // 2 + 1)
