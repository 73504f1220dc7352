"""ZSSR at test time: the 8 geometric variants of the LR image, back-projection, their median.

Each variant (rotation by k x 90 degrees, k = 0..3, and the same after a left-right flip) is
upscaled bicubically, passed through the net (clipped to 0..1), turned back, and back-projected;
the pixel-wise median of the variants is back-projected again. An anisotropic factor keeps the
variants that do not swap the axes (k even). Back-projection, ``iters`` times:
y <- clip(y + bicubic_up(lr - down(y))) with ``down`` the training's downscaling (bicubic or the
kernel), so the result, downscaled, stays consistent with the LR image.

The variants of one shape (k even, k odd) go through the net as one batch, and back-projection
is a ``fori_loop``, so that the whole test compiles as a small program.
"""
import functools

import jax.numpy as jnp

from sinir_jax.core import backprojection
from sinir_jax.zssr import kernels


def variant(x, k):
  """Variant k (0..7) of an (H, W, C) image: rot90 by k % 4, after a flip for k >= 4."""
  return jnp.rot90(jnp.fliplr(x) if k >= 4 else x, k % 4)


def undo(y, k):
  """The inverse of ``variant``."""
  y = jnp.rot90(y, -(k % 4))
  return jnp.fliplr(y) if k >= 4 else y


def back_project(y, lr, iters, kernel=None):
  """``iters`` back-projection steps of the estimate ``y`` (HR, 0..1; (H, W, C) or a batch of
  them) against ``lr`` (h, w, C), downscaling as the training did (``kernels.downscale``)."""
  return backprojection.back_project(y, lr, iters, functools.partial(kernels.downscale,
                                                                     kernel=kernel))


def variants_of(factor, output_flip):
  """The variants used at a (vertical, horizontal) factor."""
  if not output_flip:
    return (0,)
  return tuple(range(8)) if factor[0] == factor[1] else (0, 2, 4, 6)


def super_resolve(net_fn, lr, factor, bp_iters, kernel=None, output_flip=True):
  """The test-time SR of ``lr`` (H, W, C, 0..1) at ``factor`` with ``net_fn`` (a batch of
  upscaled images -> the net's outputs), as the module docstring describes."""
  size = kernels.out_size(lr.shape, factor)
  results = []
  for parity in (0, 1):
    ks = [k for k in variants_of(factor, output_flip) if k % 2 == parity]
    if not ks:
      continue
    batch = jnp.stack([variant(lr, k) for k in ks])
    outs = jnp.clip(net_fn(kernels.upscale(batch, size if parity == 0 else size[::-1])), 0, 1)
    results.append(jnp.stack([undo(out, k) for out, k in zip(outs, ks)]))
  estimates = back_project(jnp.concatenate(results), lr, bp_iters, kernel)
  return back_project(jnp.median(estimates, axis=0), lr, bp_iters, kernel)
