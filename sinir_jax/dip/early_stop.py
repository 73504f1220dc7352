"""Early stopping without ground truth: ES-WMV, the windowed moving variance of the outputs
(Wang, Li, Zhuang, Chen, Liang, Sun, "Early Stopping for Deep Image Prior", arXiv 2112.06074).

DIP first fits the image's content and later its noise; the outputs change least, step to step,
around the turn. So at every step t the output x_t joins a window of the last W outputs and, once
the window is full, its variance

  VAR_t = 1/W * sum over the window of mean((x_w - mean of the window) ** 2)

(the mean over pixels and channels, so images of any size compare) is compared with the
smallest so far: a new minimum records step t, x_t (the "auto" output) and the running
average of the outputs at t (the "auto_ema" output: the window is steadiest there, so its
average is the best-denoised output; on a held-out 128 px crop at sigma 25, official net,
about +8 dB over the noisy input at the minimum, step 787 (the average logged at steps 750 and
800: +7.9, +8.1), against +6.3 for x_t and +2.6 for the average at the last step). The run stops when P
steps pass without a new minimum (``es_patience``; 0 never stops, and the minimum's output is
kept either way). The paper's notebook uses W = 100 and P = 1000.

Everything runs inside the jitted step, on the device: a ring buffer of W outputs (W * H * W *
C float32 values: 315 MB for a 512x512 RGB image at W = 100) and two passes over it per step,
the mean and then the squared deviations (exact and deterministic, where running sums would
drift). The host reads only the minimum's step, at the log cadence, so a run stops at the first
log step at or past minimum + P; the output it returns is the minimum's whatever that step is.
The variance is that of the outputs the loss sees (each from the step's perturbed input).
"""
import jax.numpy as jnp


def init(window, shape):
  """The state of an empty window of ``window`` images of ``shape``."""
  return {"buffer": jnp.zeros((window, *shape), jnp.float32),
          "best_variance": jnp.array(jnp.inf, jnp.float32),
          "best_step": jnp.array(0, jnp.int32),
          "best": jnp.zeros(shape, jnp.float32),
          "best_ema": jnp.zeros(shape, jnp.float32)}


def update(state, image, step, ema):
  """Adds ``image``, the output of 0-based step ``step``, to the window and keeps ``ema``, the
  running average at that step, if it is a new minimum: (state, VAR_t), VAR_t NaN until the
  window is full. ``best_step`` counts steps (step + 1): 0 means none yet."""
  window = state["buffer"].shape[0]
  buffer = state["buffer"].at[step % window].set(image)
  mean = jnp.mean(buffer, axis=0)
  variance = jnp.mean(jnp.square(buffer - mean))
  full = step + 1 >= window
  better = full & (variance < state["best_variance"])
  state = {"buffer": buffer,
           "best_variance": jnp.where(better, variance, state["best_variance"]),
           "best_step": jnp.where(better, step + 1, state["best_step"]),
           "best": jnp.where(better, image, state["best"]),
           "best_ema": jnp.where(better, ema, state["best_ema"])}
  return state, jnp.where(full, variance, jnp.nan)


def should_stop(steps_done, best_step, patience):
  """Whether ``patience`` steps (0: never) have passed since the minimum at ``best_step``."""
  return bool(patience) and best_step > 0 and steps_done - best_step >= patience
