"""The network's input z: fixed for the whole run, perturbed afresh at every step.

- "noise": U[0, 1) * ``scale``, ``depth`` channels: the official ``get_noise(..., 'noise', 'u',
  var=1/10)``, non-negative and not centred, U[0, 0.1) by default.
- "meshgrid": two channels, x = column / (W - 1) and y = row / (H - 1), both in [0, 1] (the
  vase inpainting input).

Every step feeds ``z + reg_noise_std * N(0, 1)`` with a fresh draw, always added to the fixed z
(nothing accumulates); ``reg_noise_std`` = 0 feeds z itself.
"""
import jax
import jax.numpy as jnp

KINDS = ("noise", "meshgrid")


def fixed_input(key, kind, depth, size, scale=0.1):
  """z for an (H, W) = ``size`` output: (1, H, W, depth) float32."""
  h, w = size
  if kind == "noise":
    return jax.random.uniform(key, (1, h, w, depth), jnp.float32) * scale
  if kind == "meshgrid":
    if depth != 2:
      raise ValueError(f"a meshgrid input has 2 channels, not {depth}")
    ys, xs = jnp.meshgrid(jnp.arange(h) / max(h - 1, 1), jnp.arange(w) / max(w - 1, 1),
                          indexing="ij")
    return jnp.stack([xs, ys], -1)[None].astype(jnp.float32)
  raise ValueError(f"input kind must be one of {KINDS}, got {kind!r}")


def perturbed(z, key, std):
  """The input of one step: ``z`` plus fresh Gaussian noise of ``std`` (``z`` when 0)."""
  if not std:
    return z
  return z + std * jax.random.normal(key, z.shape, z.dtype)
