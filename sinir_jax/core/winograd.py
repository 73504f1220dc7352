"""3x3 convolutions as Winograd's F(2x2, 3x3), the CPU's fast form (the same sums as a direct conv).

Each 2x2 output tile costs 16 multiplies per channel pair instead of 36: 16 (tiles, in) @ (in,
out) matmuls between transforms of 4x4 input tiles and of the kernel. Float32 results differ
from XLA's direct conv by rounding (~1e-6 relative). A custom VJP keeps only the input (autodiff
would keep its 4x larger transform): the input gradient is another Winograd conv, the kernel
gradient 16 (in, tiles) @ (tiles, out) matmuls. ``sinir_jax.core.conv`` decides where it runs.

Measured on 2 CPU cores, 128 channels, forward / forward + both gradients: 250 px 92 -> 72 /
~337 -> 217 ms against XLA's SAME conv plus border terms with the kernel gradient as nine
shifted-input matmuls; against XLA's conv of the reflect-padded input, 125 px 57 -> 21 / 104 ->
57 ms, 64 px 10 -> 7 / 28 -> 20 ms, 48 px equal, 32 px slower (2.7 -> 4.0 / 6.6 -> 9.2 ms).

In one dimension, two outputs of a 3-tap correlation of the four inputs d are
A^T [(G k) * (B^T d)], and the kernel gradient of that tile is G^T [(A dy) * (B^T d)].
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

PADDINGS = ("reflect", "zero")

_G = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], np.float32)


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
  kernel_tiles = jnp.einsum("ai,bj,ijco->abco", _G, _G,
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
  return jnp.einsum("ai,bj,abco->ijco", _G, _G,
                    products.reshape(4, 4, *products.shape[1:]))


def _fold_reflect_pad(grad_padded):
  """The gradient of ``_reflect_pad``'s input from its output's: each padded row and column
  added to the row or column it copies."""
  h, w = grad_padded.shape[1] - 2, grad_padded.shape[2] - 2
  rows = grad_padded[:, 1:h + 1]
  rows = rows.at[:, 1].add(grad_padded[:, 0]).at[:, h - 2].add(grad_padded[:, h + 1])
  grad = rows[:, :, 1:w + 1]
  return grad.at[:, :, 1].add(rows[:, :, 0]).at[:, :, w - 2].add(rows[:, :, w + 1])


def pad(x, padding):
  """``x`` (N, H, W, C) padded by 1 pixel: mirrored without the edge ("reflect") or zeros."""
  return jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect" if padding == "reflect"
                 else "constant")


def _unpad_grad(grad_padded, padding):
  """The gradient of ``pad``'s input from its output's: a zero pad's border is dropped; a
  reflected row or column is added to the row or column it copies."""
  h, w = grad_padded.shape[1] - 2, grad_padded.shape[2] - 2
  rows = grad_padded[:, 1:h + 1]
  if padding == "zero":
    return rows[:, :, 1:w + 1]
  rows = rows.at[:, 1].add(grad_padded[:, 0]).at[:, h - 2].add(grad_padded[:, h + 1])
  grad = rows[:, :, 1:w + 1]
  return grad.at[:, :, 1].add(rows[:, :, 0]).at[:, :, w - 2].add(rows[:, :, w + 1])


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv3x3(x, kernel, padding="reflect"):
  """The 3x3 conv of ``x`` (N, H, W, in) padded by 1 (``padding``: reflect | zero) with
  ``kernel`` (3, 3, in, out): (N, H, W, out), computed as Winograd F(2x2, 3x3)."""
  return _winograd_conv(pad(x, padding), kernel)


def _conv3x3_fwd(x, kernel, padding):
  return conv3x3(x, kernel, padding), (x, kernel)


def _conv3x3_bwd(padding, residuals, grad):
  # The input gradient is the full correlation of the gradient with the flipped kernel (a VALID
  # conv of the gradient zero-padded by 2), taken back through the padding.
  x, kernel = residuals
  flipped = kernel[::-1, ::-1].transpose(0, 1, 3, 2)
  grad_padded = _winograd_conv(jnp.pad(grad, ((0, 0), (2, 2), (2, 2), (0, 0))), flipped)
  return (_unpad_grad(grad_padded, padding),
          _winograd_kernel_grad(pad(x, padding), grad).astype(kernel.dtype))


conv3x3.defvjp(_conv3x3_fwd, _conv3x3_bwd)
