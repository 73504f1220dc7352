"""One Deep Image Prior step, jitted: forward, loss, running average, backtracking, the early-stop
window, and the Adam update (optax's defaults: b1 0.9, b2 0.999, eps 1e-8, a constant rate).

The loss is a weighted MSE in the space of the observation: ``sum(weight * (A(out) - target) **
2) / count``, A the identity or the Lanczos2 downsampler (``ops.downsample``), ``weight`` 0 on
the pixels the net may invent (the padding around an image whose sides are not multiples of 2
** depth; inpainting's unknown pixels) and 1 elsewhere, ``count`` the number of values of the
real (unpadded) observation. For an image that needs no padding this is the official loss
exactly: denoising and SR's ``MSELoss`` and inpainting's mean over all values of ``(out * mask -
image * mask) ** 2``. ``fit_psnr`` = -10 log10(loss) is then the official PSNR of the output
against the observation (peak 1).

Backtracking (``backtrack``), as the official denoising notebook does it. A counter i, which
starts at 0, is checked at every step where ``i % backtrack_every != 0``. If the fit PSNR is more
than ``backtrack_drop`` dB below the one last accepted, the weights are restored to the kept
snapshot. Adam then still applies this step's gradients (computed at the bad weights) from the
restored weights, and its moments are not restored. Neither i nor the snapshot changes, and the
running average has already taken the bad output. Otherwise the snapshot becomes the weights of
this step's output (before its update), its fit PSNR is accepted, and i += 1. Unchecked steps
only do i += 1. The official loop always does ``iters`` updates, so after a fallback i lags the
step count. A NaN fit PSNR is no drop (the comparison is false, as in the notebook): such a run
stays NaN and fails at the next log step (``trainer.DIPDiverged``).

The state is one pytree, donated to each call. A run with ``steps_per_call`` K > 1 runs K steps
as one ``lax.scan``, each guarded by ``lax.cond`` on the call's step count. So the shorter calls
before a hook's step need no other program, and each run compiles one step program.
"""
import dataclasses
import functools

import jax
import jax.numpy as jnp
import optax

from sinir_jax.core import metrics
from sinir_jax.dip import early_stop
from sinir_jax.dip import inputs
from sinir_jax.dip import network
from sinir_jax.dip import ops


@dataclasses.dataclass(frozen=True)
class StepSettings:
  """What a step program depends on besides its arrays (hashable: the programs are cached)."""
  net: network.Skip
  lr: float
  reg_noise_std: float
  ema: float
  backtrack: bool
  backtrack_drop: float
  backtrack_every: int
  es_window: int
  factor: int  # 1: the output is the observation's estimate; > 1: its Lanczos2 downscale is
  crop: tuple  # (top, left, h, w): the real image in the output
  count: int  # values in the real observation
  steps_per_call: int = 1


def optimizer(settings):
  return optax.adam(settings.lr)


def loss_of(settings, out, target, weight):
  """The weighted MSE of the output against the observation (module docstring)."""
  estimate = ops.downsample(out, settings.factor) if settings.factor > 1 else out
  return jnp.sum(weight * jnp.square(estimate - target)) / settings.count


def crop(settings, image):
  """The real image's window of an (N, H, W, C) output."""
  top, left, h, w = settings.crop
  return image[:, top:top + h, left:left + w]


@functools.lru_cache(maxsize=None)
def make_init(settings):
  """init(key, z) -> the state at step 0, jitted (params: PyTorch 0.4's default init)."""
  def init(key, z):
    params = settings.net.init(key, z)
    out_shape = (*z.shape[:3], settings.net.out_channels)
    state = {"params": params, "opt_state": optimizer(settings).init(params),
             "step": jnp.array(0, jnp.int32), "out": jnp.zeros(out_shape, jnp.float32),
             "ema": jnp.zeros(out_shape, jnp.float32)}
    if settings.backtrack:
      state.update(bt_params=params, bt_last=jnp.array(0.0, jnp.float32),
                   bt_count=jnp.array(0, jnp.int32))
    if settings.es_window:
      _, _, h, w = settings.crop
      state["es"] = early_stop.init(settings.es_window, (1, h, w, settings.net.out_channels))
    return state

  return jax.jit(init)


def _select(flag, a, b):
  return jax.tree.map(lambda x, y: jnp.where(flag, x, y), a, b)


def one_step(settings, state, data):
  """One step (module docstring): (state, per-step metrics). ``data`` holds the fixed input
  "z", the observation "target" and its "weight", the run's noise "key" (this step's draw is
  its fold_in with the step) and optionally the "reference" image, the real window's size."""
  t = state["step"]
  z = inputs.perturbed(data["z"], jax.random.fold_in(data["key"], t), settings.reg_noise_std)

  def loss_fn(params):
    out = settings.net.apply(params, z)
    return loss_of(settings, out, data["target"], data["weight"]), out

  (loss, out), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
  fit_psnr = -10 * jnp.log10(loss)
  ema = jnp.where(t == 0, out, settings.ema * state["ema"] + (1 - settings.ema) * out)
  new = dict(state, step=t + 1, out=out, ema=ema)
  params, fell_back = state["params"], jnp.array(False)
  if settings.backtrack:
    checked = state["bt_count"] % settings.backtrack_every != 0
    fell_back = checked & (fit_psnr - state["bt_last"] < -settings.backtrack_drop)
    kept = checked & ~fell_back
    params = _select(fell_back, state["bt_params"], params)
    new.update(bt_params=_select(kept, state["params"], state["bt_params"]),
               bt_last=jnp.where(kept, fit_psnr, state["bt_last"]),
               bt_count=jnp.where(fell_back, state["bt_count"], state["bt_count"] + 1))
  updates, new["opt_state"] = optimizer(settings).update(grads, state["opt_state"], params)
  new["params"] = optax.apply_updates(params, updates)
  logged = {"loss": loss, "fit_psnr": fit_psnr, "backtracked": fell_back}
  real = crop(settings, out)
  if settings.es_window:
    new["es"], logged["variance"] = early_stop.update(state["es"], real, t,
                                                            crop(settings, ema))
  if "reference" in data:
    reference = data["reference"][0] * 255
    logged["psnr"] = metrics.psnr(jnp.clip(real[0], 0, 1) * 255, reference)
    logged["psnr_ema"] = metrics.psnr(jnp.clip(crop(settings, ema)[0], 0, 1) * 255, reference)
  return new, logged


@functools.lru_cache(maxsize=None)
def make_step(settings):
  """The run's jitted step program, its state donated: with steps_per_call 1,
  ``step(state, data) -> (state, metrics)``; with K > 1, ``step(state, data, count) -> (state,
  metrics stacked over K)``, running the first ``count`` <= K steps (the rest are skipped and
  their metrics are zeros)."""
  if settings.steps_per_call == 1:
    return jax.jit(functools.partial(one_step, settings), donate_argnums=(0,))

  def steps(state, data, count):
    def body(state, i):
      def skip(state):
        shapes = jax.eval_shape(lambda s: one_step(settings, s, data)[1], state)
        return state, jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)

      return jax.lax.cond(i < count, lambda s: one_step(settings, s, data), skip, state)

    return jax.lax.scan(body, state, jnp.arange(settings.steps_per_call))

  return jax.jit(steps, donate_argnums=(0,))
