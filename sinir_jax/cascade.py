"""A trained cascade (``Model``) and the one function that runs nets in sequence."""
import dataclasses
import functools

import jax

from sinir_jax import config as config_lib
from sinir_jax import corruption
from sinir_jax import model as model_lib
from sinir_jax import resampling


@functools.partial(jax.jit, static_argnames=("net", "size", "method"))
def stage(net, params, x, size, method, key=None, shuffle_p=0.0):
  """One net of the cascade on ``x`` (N, H, W, C); then, with a ``key`` (training), each output
  pixel-shuffled with probability ``shuffle_p``; then resized to ``size`` (None: kept).

  Jitted per net, input shape and size, so a cascade compiles each level once and later scales
  reuse the compiled levels before them.
  """
  x = net.apply(params, x)
  if key is not None:
    x = corruption.pixel_shuffle(key, x, shuffle_p)
  return x if size is None else resampling.resize(x, size, method)


def run_cascade(net, params_list, x, next_sizes, method, *, key=None, shuffle_p=0.0):
  """Runs ``x`` through each net of ``params_list`` in turn (see ``stage``); after net i the
  output is resized to ``next_sizes[i]``. With a ``key``, net i's output is shuffled with
  ``jax.random.split(key, len(params_list))[i]``.
  """
  keys = jax.random.split(key, len(params_list)) if key is not None else [None] * len(params_list)
  for params, size, stage_key in zip(params_list, next_sizes, keys):
    x = stage(net, params, x, size, method, stage_key, shuffle_p)
  return x


@dataclasses.dataclass(frozen=True)
class Model:
  """A trained SinIR cascade.

  Attributes:
    params: per-scale ScaleNet param trees, coarsest first.
    config: the training Config.
    factor: the effective factor between consecutive levels.
    sizes: the training pyramid's (h, w) per scale, coarsest first.
    channels: image channels (1 grey, 3 RGB).
  """
  params: tuple
  config: config_lib.Config
  factor: float
  sizes: tuple
  channels: int

  @property
  def num_scales(self):
    return len(self.params)

  @property
  def net(self):
    return model_lib.ScaleNet(self.config.net_ch, self.channels)
