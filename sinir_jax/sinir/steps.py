"""What one SinIR training step is (spec section 5): keys, optimizer, the frozen cascade's input
and the jitted update. Single and batched training both step with these functions."""
import functools

import jax
import optax

from sinir_jax.sinir import cascade
from sinir_jax.sinir import loss as loss_lib


def run_keys(config):
  """(init_key, train_key) of a run: scale 0's init and the root of every step's key."""
  return jax.random.split(jax.random.key(config.seed))


def step_key(train_key, scale, step):
  """The key of one step: a pure function of the run's seed, the scale and the step."""
  return jax.random.fold_in(jax.random.fold_in(train_key, scale), step)


def make_schedule(config):
  """The learning rate of 0-based step t within a scale: cosine from ``lr`` down to 0."""
  return optax.cosine_decay_schedule(config.lr, config.iters)


def make_optimizer(config):
  """Adam(b1 0.5, b2 0.999) with ``make_schedule``'s rate, restarted at every scale."""
  return optax.adam(make_schedule(config), b1=0.5, b2=0.999, eps=1e-8)


def update(net, optimizer, params, opt_state, x, target):
  """One Adam update of the net being trained: (params, opt_state, loss). ``x`` is the net's
  input (the frozen cascade's shuffled output, see ``cascade_input``), ``target`` the level it
  must reconstruct, both (1, h, w, C)."""
  loss, grads = jax.value_and_grad(
      lambda p: loss_lib.sinir_loss(net.apply(p, x), target))(params)
  updates, opt_state = optimizer.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, loss


def make_train_step(net, optimizer):
  """``update`` jitted, params and Adam state donated (it compiles once per scale's shapes):
  step(params, opt_state, x, target) -> (params, opt_state, loss)."""
  return jax.jit(functools.partial(update, net, optimizer), donate_argnums=(0, 1))


@functools.lru_cache(maxsize=None)
def make_fused_steps(net, optimizer, sizes, method, shuffle_p):
  """K training steps of one scale as one compiled call (for GPUs and TPUs):

  steps(params, opt_state, frozen, coarsest, target, keys) -> (params, opt_state, losses):
  the frozen cascade's inputs of the K steps (``keys``: K step keys, the same as the per-step
  path's) as one call batched over the steps, then K updates in a ``lax.scan``; params and Adam
  state donated. The same math as K calls of the per-step path (float32 rounding differs: the
  batched convs and the scanned update compile to other kernels).
  """
  def run(params, opt_state, frozen, coarsest, target, keys):
    xs = jax.vmap(lambda key: cascade_input(net, frozen, [coarsest], sizes, method, key,
                                            shuffle_p))(keys)

    def body(carry, x):
      params, opt_state, loss = update(net, optimizer, *carry, x, target)
      return (params, opt_state), loss

    (params, opt_state), losses = jax.lax.scan(body, (params, opt_state), xs)
    return params, opt_state, losses

  return jax.jit(run, donate_argnums=(0, 1))


def cascade_input(net, frozen, levels, sizes, method, key, shuffle_p):
  """The input of the net of scale len(frozen): the clean coarsest level through the frozen
  nets, each output freshly shuffled and resized to the next level (no gradient flows)."""
  return cascade.run_cascade(net, frozen, levels[0], sizes[1:len(frozen) + 1], method,
                             key=key, shuffle_p=shuffle_p)
