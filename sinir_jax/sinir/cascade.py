"""A trained cascade (``Model``) and the one function that runs nets in sequence."""
import dataclasses
import functools

import jax
import jax.numpy as jnp

from sinir_jax.core import backprojection
from sinir_jax.core import resampling
from sinir_jax.core.errors import InputError
from sinir_jax.sinir import config as config_lib
from sinir_jax.sinir import corruption
from sinir_jax.sinir import masks
from sinir_jax.sinir import network
from sinir_jax.sinir import pyramid as pyramid_lib


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
    return network.for_config(self.config, self.channels)

  def entry_index(self, entry_scale):
    """``entry_scale`` as an index in [0, num_scales); negative counts from the finest."""
    k = int(entry_scale)
    if not -self.num_scales <= k < self.num_scales:
      raise InputError(
          f"entry scale {entry_scale} is out of range: this model has {self.num_scales} scales, "
          f"use 0..{self.num_scales - 1} or -1..-{self.num_scales}")
    return k % self.num_scales

  def pyramid(self, image, img_shape=None):
    """The inference pyramid of ``image`` ((H, W, C) or (N, H, W, C) in [-1, 1]) with the
    model's scale count, factor and resampler, after an optional first resize ``img_shape``."""
    image = jnp.asarray(image, jnp.float32)
    if image.shape[-1] != self.channels:
      raise InputError(
          f"the input has {image.shape[-1]} channel(s) but the model was trained on "
          f"{self.channels}: convert the input (e.g. to {'RGB' if self.channels == 3 else 'grey'})")
    if img_shape is not None:
      image = resampling.resize(image, img_shape, self.config.interp)
    return pyramid_lib.build_pyramid(image, self.num_scales, self.factor, self.config.interp)

  def manipulate(self, image, entry_scale, *, use_last_net_only=False, mask=None,
                 mask_task=None, img_shape=None, fused=None):
    """Runs ``image`` through the cascade from ``entry_scale`` to the finest net.

    Args:
      image: (H, W, C) or a batch (N, H, W, C) of one size, values in [-1, 1].
      entry_scale: where the image enters: 0 (coarsest: global structure changes, e.g.
        paint-to-image) .. num_scales - 1 (finest: colour and texture only); negative counts
        from the finest (-1 = finest).
      use_last_net_only: run the finest net at every scale (the super-resolution setting).
      mask: optional mask image (see ``masks.prepare_mask``); the result is the input where the
        mask is 0 and the cascade's output where it is 1.
      mask_task: "edit" or "harmonization" (how much the mask is dilated), with ``mask``.
      img_shape: optional first resize of the input (int longer side, or (h, w)).
      fused: run the cascade as one compiled program (default: on accelerators; on CPU each
        level is its own jitted stage, compiled once and shared by every entry and model).

    Returns:
      The result at the finest level's size (the input's size after ``img_shape``), same rank.
    """
    return self._run(image, [self.entry_index(entry_scale)], use_last_net_only, mask,
                     mask_task, img_shape, fused)[0]

  def manipulate_all(self, image, *, use_last_net_only=False, mask=None, mask_task=None,
                     img_shape=None, fused=None):
    """``manipulate`` from every entry scale, coarsest first: a list of num_scales results (one
    compiled program for all of them when ``fused``)."""
    return self._run(image, range(self.num_scales), use_last_net_only, mask, mask_task,
                     img_shape, fused)

  def super_resolve(self, image, sr_factor, *, back_projection_iters=0, fused=None):
    """Super-resolves ``image`` ((H, W, C)) by ``sr_factor`` (> 1) with the release's recipe:
    bicubic upsampling to the target size, then the whole pyramid from the coarsest level with
    the finest net at every scale. A model trained at x2 serves any factor. With
    ``back_projection_iters`` > 0, the result is then back-projected against ``image``
    (``core.backprojection``, MATLAB bicubic), as ZSSR does (not in the release)."""
    if not sr_factor > 1:
      raise InputError(f"sr_factor must be > 1, got {sr_factor}")
    h, w = jnp.shape(image)[-3:-1]
    out = self.manipulate(image, 0, use_last_net_only=True,
                          img_shape=(round(h * sr_factor), round(w * sr_factor)), fused=fused)
    if back_projection_iters:
      out = backprojection.back_project_jit(out, jnp.asarray(image, jnp.float32),
                                            back_projection_iters)
    return out

  def _run(self, image, entries, use_last_net_only, mask, mask_task, img_shape, fused):
    levels = self.pyramid(image, img_shape)
    batched = levels[-1].ndim == 4
    levels = tuple(levels if batched else [lv[None] for lv in levels])
    params = (self.params[-1],) * self.num_scales if use_last_net_only else tuple(self.params)
    sizes = tuple(tuple(lv.shape[1:3]) for lv in levels)
    if fused is None:  # accelerators want one program; on CPU the per-level stages compile once
      fused = jax.default_backend() != "cpu"
    run = _entries_fused if fused else _entries
    results = run(self.net, params, levels, tuple(entries), sizes, self.config.interp)
    if mask is not None:
      soft = jnp.asarray(masks.prepare_mask(mask, mask_task, sizes[-1]))
      results = [masks.blend(levels[-1], out, soft) for out in results]
    return [out if batched else out[0] for out in results]


def _entries(net, params, levels, entries, sizes, method):
  """The cascade's result from each entry scale of ``entries``, coarsest first."""
  return [run_cascade(net, params[k:], levels[k], sizes[k + 1:] + (None,), method)
          for k in entries]


# Every entry scale of one model (and input size) as one compiled program.
_entries_fused = jax.jit(_entries, static_argnames=("net", "entries", "sizes", "method"))
