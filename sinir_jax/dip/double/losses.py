"""Double-DIP's losses (the official ``net/losses.py``), on NHWC float32 arrays in [0, 1].

- ``exclusion``: the layers' gradients should not be strong at the same places. At each of 3
  pyramid levels (2x2 average pooling, odd rows and columns dropped, between levels), the
  vertical and horizontal differences g of both layers are squashed to 2 sigmoid(g) - 1, and
  for every pair of channels (i of the second layer, j of the first) mean(s1_j^2 s2_i^2) ** 0.25
  is taken. The loss is (mean of the vertical terms + mean of the horizontal ones) / 2, the
  means over levels and channel pairs (the official code fixes 3 channels; here C x C pairs).
- ``std``: the mean squared distance of the grey map (the channel mean) to its 5x5 box blur,
  on the valid (unpadded) window: 0 for a smooth map. Dehazing's transmission and airlight.
- ``gray``: 1 / mean |m - 1/2|: large for a grey mask, so it pushes the mask to 0 or 1.
- ``masked_l1``: mean |w a - w b| / mean |w|: an L1 inside the hint ``w``, normalised by the
  hint's area (the official ``ExtendedL1Loss``), so a small hint weighs as much as a big one.
"""
import jax
import jax.numpy as jnp

LEVELS = 3


def _pool2(x):
  n, h, w, c = x.shape
  x = x[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c)
  return x.mean(axis=(2, 4))


def _pair_terms(s1, s2):
  """mean over pixels of s1[..., j]^2 * s2[..., i]^2, ** 0.25, for every (i, j): (C2, C1)."""
  products = jnp.einsum("nhwj,nhwi->ij", jnp.square(s1), jnp.square(s2)) / (
      s1.shape[0] * s1.shape[1] * s1.shape[2])
  return products ** 0.25


def exclusion(layer1, layer2, levels=LEVELS):
  """The exclusion loss of two (N, H, W, C) layers (module docstring)."""
  vertical, horizontal = [], []
  for _ in range(levels):
    for grads, axis in ((vertical, 1), (horizontal, 2)):
      s1 = 2 * jax.nn.sigmoid(jnp.diff(layer1, axis=axis)) - 1
      s2 = 2 * jax.nn.sigmoid(jnp.diff(layer2, axis=axis)) - 1
      grads.append(_pair_terms(s1, s2))
    layer1, layer2 = _pool2(layer1), _pool2(layer2)
  return (jnp.mean(jnp.stack(vertical)) + jnp.mean(jnp.stack(horizontal))) / 2


def std(x):
  """The smoothness loss of an (N, H, W, C) map (module docstring); H, W >= 5."""
  grey = jnp.mean(x, axis=-1)
  h, w = grey.shape[1:]
  window = jnp.stack([grey[:, i:h - 4 + i, j:w - 4 + j] for i in range(5) for j in range(5)])
  return jnp.mean(jnp.square(grey[:, 2:h - 2, 2:w - 2] - window.mean(axis=0)))


def gray(mask):
  """1 / mean |mask - 1/2|: pushes a mask in [0, 1] to a binary one."""
  return 1 / jnp.mean(jnp.abs(mask - 0.5))


def masked_l1(a, b, weight):
  """The L1 of ``a`` against ``b`` inside ``weight`` (broadcast), over the hint's mean."""
  weight = jnp.broadcast_to(weight, a.shape)
  return jnp.mean(jnp.abs(weight * a - weight * b)) / jnp.mean(jnp.abs(weight))


def l1(a, b):
  return jnp.mean(jnp.abs(a - b))


def mse(a, b):
  return jnp.mean(jnp.square(a - b))
