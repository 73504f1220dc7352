"""ZSSR's training examples: an augmented "father" crop of a training source and its "son".

Each step draws, on the host (numpy, seeded), an augmentation as the official
``random_augment`` does: with probability ``leave_as_is_p`` a plain crop, with ``no_interp_p`` a
reflection and a rotation by a multiple of 90 degrees, otherwise an affine warp (scale ~
U[min_scale, max_scale), anisotropy ~ N(0, scale_diff_sigma), shear ~ N(0, shear_sigma), any
angle); the crop's place is uniform. The source is the first one whose factor is above the drawn
scale (the LR image, or a result of an earlier factor of gradual SR). The draw is a 3x3 matrix;
``warp`` applies it on the device: the father is ``crop_size`` square, sampled bicubically
(a = -0.75, as OpenCV's) with zeros outside the source, clipped to 0..1. The son is the father
downscaled by the factor (bicubic or the kernel), plus noise, clipped; the net maps its bicubic
upscale back to the father.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np


def _translate(x, y):
  return np.array([[1, 0, x], [0, 1, y], [0, 0, 1]], np.float64)


def sample(rng, source_shapes, source_factors, config):
  """One augmentation: (source index, 3x3 matrix taking father pixels to source pixels).

  Args:
    rng: a numpy Generator.
    source_shapes: (h, w) of each training source, the LR image first.
    source_factors: the factor (the smaller of its two) at which each source was made: 1.0 for
      the LR image, then each finished factor of gradual SR.
    config: the ZSSRConfig.
  """
  crop = config.crop_size
  u = rng.random()
  mode = ("leave" if u < config.leave_as_is_p else
          "no_interp" if u < config.leave_as_is_p + config.no_interp_p else "affine")
  max_scale = source_factors[-1]
  scale = 1.0 if mode == "leave" else rng.uniform(config.min_scale, max_scale)
  index = next((i for i, f in enumerate(source_factors) if f > scale - 1e-6),
               len(source_factors) - 1)
  h, w = source_shapes[index]
  s = scale / source_factors[index] if mode == "affine" else 1.0
  d = rng.standard_normal() * config.scale_diff_sigma if mode == "affine" else 0.0
  flip = 1.0
  if mode != "leave" and config.allow_rotation:
    flip = 1.0 if rng.standard_normal() >= 0 else -1.0
  scaling = np.diag([flip * (s + d / 2), s - d / 2, 1.0])
  shift_x = rng.random() * max(s * w - crop, 0)
  shift_y = rng.random() * max(s * h - crop, 0)
  centre_x, centre_y = w / 2, h / 2
  if mode != "affine":
    shift_x, shift_y = round(shift_x), round(shift_y)
    centre_x, centre_y = round(centre_x), round(centre_y)
  angle = 0.0
  if config.allow_rotation and mode == "affine":
    angle = rng.uniform(0, 2 * math.pi)
  elif config.allow_rotation and mode == "no_interp":
    angle = rng.integers(4) * math.pi / 2
  cos, sin = math.cos(angle), math.sin(angle)
  rotation = np.array([[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]])
  shear = np.eye(3)
  if mode == "affine":
    shear[0, 1], shear[1, 0] = rng.standard_normal(2) * config.shear_sigma
  forward = (_translate(centre_x, centre_y) @ _translate(-shift_x, -shift_y) @ shear @ rotation
             @ scaling @ _translate(-centre_x, -centre_y))  # source -> father
  return index, np.linalg.inv(forward).astype(np.float32)


def _cubic(t):
  """OpenCV's bicubic weights (a = -0.75) of the 4 taps at offsets -1..2 for fractions t."""
  a = -0.75
  def near(x):
    return ((a + 2) * x - (a + 3)) * x * x + 1
  def far(x):
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
  return jnp.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=-1)


def warp(source, matrix, size):
  """The (size, size, C) father: ``source`` (H, W, C) sampled at ``matrix`` @ (x, y, 1) for each
  father pixel (x right, y down), bicubically with zeros outside, clipped to 0..1. jit-able."""
  h, w = source.shape[:2]
  ys, xs = jnp.meshgrid(jnp.arange(size, dtype=jnp.float32),
                        jnp.arange(size, dtype=jnp.float32), indexing="ij")
  points = jnp.stack([xs, ys, jnp.ones_like(xs)], axis=-1) @ matrix.T
  sx, sy = points[..., 0] / points[..., 2], points[..., 1] / points[..., 2]
  x0, y0 = jnp.floor(sx), jnp.floor(sy)
  wx, wy = _cubic(sx - x0), _cubic(sy - y0)  # (size, size, 4)
  out = 0
  for i in range(4):
    row = y0 + (i - 1)
    row_ok = (row >= 0) & (row < h)
    for j in range(4):
      col = x0 + (j - 1)
      ok = row_ok & (col >= 0) & (col < w)
      tap = source[jnp.clip(row, 0, h - 1).astype(jnp.int32), jnp.clip(col, 0, w - 1).astype(
          jnp.int32)]
      out = out + jnp.where(ok, wy[..., i] * wx[..., j], 0.0)[..., None] * tap
  return jnp.clip(out, 0.0, 1.0)


def son_size(crop, factor):
  """The son's (h, w) for a father of side ``crop`` at a (vertical, horizontal) factor."""
  return (int(math.ceil(crop / factor[0] - 1e-9)), int(math.ceil(crop / factor[1] - 1e-9)))


def add_noise(key, son, std):
  """``son`` plus N(0, std^2) noise (none for std 0), clipped to 0..1 as the official code does
  also without noise (the bicubic son can overshoot)."""
  if std:
    son = son + std * jax.random.normal(key, son.shape, son.dtype)
  return jnp.clip(son, 0.0, 1.0)
