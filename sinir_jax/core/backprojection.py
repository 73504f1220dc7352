"""Back-projection (Irani & Peleg): a super-resolved estimate made consistent with its LR image.

``iters`` times: y <- clip(y + up(lr - down(y))), ``down`` the downscaling the LR image came from
(MATLAB bicubic by default; ZSSR passes its given kernel's), ``up`` MATLAB bicubic. ZSSR applies
it at test time; SinIR's super-resolution offers it as a post-step (``back_projection_iters``).
"""
import functools

import jax
import jax.numpy as jnp

from sinir_jax.core import resampling


def matlab_downscale(x, size):
  return resampling.resize(x, size, "matlab")


def back_project(y, lr, iters, downscale=matlab_downscale, low=0.0, high=1.0):
  """``iters`` back-projection steps of ``y`` ((H, W, C) or a batch) against ``lr`` (h, w, C);
  values clipped to [low, high] (0..1, or SinIR's -1..1). jit-able: a ``fori_loop``."""
  def once(_, y):
    residual = lr - downscale(y, lr.shape[-3:-1])
    return jnp.clip(y + resampling.resize(residual, y.shape[-3:-1], "matlab"), low, high)
  return jax.lax.fori_loop(0, iters, once, y)


@functools.partial(jax.jit, static_argnames=("iters",))
def back_project_jit(y, lr, iters):
  """``back_project`` of images in [-1, 1] with MATLAB bicubic, as one compiled program."""
  return back_project(y, lr, iters, low=-1.0, high=1.0)
