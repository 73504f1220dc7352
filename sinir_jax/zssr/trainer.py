"""ZSSR training and super-resolution of one image (``super_resolve``).

For each factor in turn (``ZSSRConfig.factors``: one jump, or the steps of gradual SR), the net
trains through ``core.loop.run``: each step an augmented father crop of a training source
(``examples``), its son downscaled by the factor, L1 between the net's output on the son's
bicubic upscale and the father, Adam; hooks measure the reconstruction error and apply the rate
policy (``policy``), which stops the factor, and report progress. Weights and Adam's moments
carry over from factor to factor; the rate restarts at ``lr``. Each factor's test-time result
(``ensemble``) joins the training sources of the next. One compiled step per source shape;
``steps_per_call`` > 1 runs that many steps in one ``lax.scan`` call.
"""
import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from sinir_jax.core import loop
from sinir_jax.core.errors import InputError
from sinir_jax.zssr import config as config_lib
from sinir_jax.zssr import ensemble
from sinir_jax.zssr import examples
from sinir_jax.zssr import kernels
from sinir_jax.zssr import network
from sinir_jax.zssr import policy as policy_lib


@dataclasses.dataclass
class Stage:
  """What one factor's training did."""
  factor: tuple
  steps: int = 0
  seconds: float = 0.0
  losses: list = dataclasses.field(default_factory=list)  # (step, mean L1 since the last log)
  errors: list = dataclasses.field(default_factory=list)  # (step, reconstruction MSE)
  lr_changes: list = dataclasses.field(default_factory=list)  # steps where lr was cut 10x


@dataclasses.dataclass
class Result:
  """ZSSR's result: ``image`` (H, W, C) in [-1, 1] at the final factor, each factor's test-time
  result (``images``, same range), its ``stages`` and the ``seconds`` it all took."""
  image: np.ndarray
  images: list
  stages: list
  seconds: float


def _loss(net, crop, factor, noise_std, params, father, key, kernel):
  son = kernels.downscale(father, examples.son_size(crop, factor), kernel)
  son = examples.add_noise(key, son, noise_std)
  x = kernels.upscale(son, (crop, crop))
  return jnp.mean(jnp.abs(net.apply(params, x[None])[0] - father))


@functools.lru_cache(maxsize=None)
def _steps(net, optimizer, crop, factor, noise_std):
  """The jitted training step, and K steps as one call: (params, opt_state, source, matrices,
  keys, kernel) -> (params, opt_state, losses); params and Adam state donated."""
  loss_fn = functools.partial(_loss, net, crop, factor, noise_std)

  def one(params, opt_state, source, matrix, key, kernel):
    father = examples.warp(source, matrix, crop)
    loss, grads = jax.value_and_grad(loss_fn)(params, father, key, kernel)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  def many(params, opt_state, source, matrices, keys, kernel):
    def body(carry, xs):
      params, opt_state, loss = one(*carry, source, *xs, kernel)
      return (params, opt_state), loss
    (params, opt_state), losses = jax.lax.scan(body, (params, opt_state), (matrices, keys))
    return params, opt_state, losses

  return jax.jit(one, donate_argnums=(0, 1)), jax.jit(many, donate_argnums=(0, 1))


@functools.partial(jax.jit, static_argnames=("net", "factor", "noise_std"))
def reconstruction_error(net, params, lr, key, kernel, factor, noise_std):
  """MSE of the LR image against the net's reconstruction of it from its own downscale."""
  small = kernels.out_size(lr.shape, (1 / factor[0], 1 / factor[1]))
  son = examples.add_noise(key, kernels.downscale(lr, small, kernel), noise_std)
  out = jnp.clip(net.apply(params, kernels.upscale(son, lr.shape[:2])[None])[0], 0.0, 1.0)
  return jnp.mean(jnp.square(lr - out))


@functools.partial(jax.jit, static_argnames=("net", "factor", "bp_iters", "output_flip"))
def test_time(net, params, lr, kernel, factor, bp_iters, output_flip):
  """``ensemble.super_resolve`` of ``lr`` (0..1) with the trained net, as one program."""
  return ensemble.super_resolve(lambda x: net.apply(params, x), lr, factor, bp_iters, kernel,
                                output_flip)


# Adam (b1 0.9, b2 0.999, eps 1e-8) whose rate lives in its state, so that the policy changes it
# without a recompile; each run sets its own rate (``_with_lr``).
_OPTIMIZER = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)


def _with_lr(opt_state, lr):
  return opt_state._replace(hyperparams={**opt_state.hyperparams,
                                         "learning_rate": jnp.asarray(lr, jnp.float32)})


def super_resolve(lr_image, config=None, *, report=print, on_stage=None):
  """Super-resolves ``lr_image`` ((H, W, C) in [-1, 1], C = 1 or 3) with ZSSR.

  Args:
    lr_image: the image; its own downscaling is what the net learns to undo.
    config: a ``ZSSRConfig`` (default: x2, the official defaults); its ``kernel``, if set, is
      loaded, checked and shifted here.
    report: called with each progress line.
    on_stage: called with each finished ``Stage`` and its result (H, W, C) in [-1, 1].

  Returns:
    A ``Result``; ``result.image`` is ``ceil(H * factor) x ceil(W * factor)``.

  Raises:
    InputError: a bad config, kernel or image (one line).
  """
  start = time.perf_counter()
  config = (config or config_lib.ZSSRConfig()).validate()
  lr01 = (jnp.asarray(lr_image, jnp.float32) + 1) / 2
  if lr01.ndim != 3:
    raise InputError(f"the LR image must be (H, W, C), got shape {lr01.shape}")
  factors, bp_iters = config.factors(), config.bp_iters()
  kernel = None
  if config.kernel:
    kernel = jnp.asarray(kernels.shift_kernel(kernels.load_kernel(config.kernel), factors[-1]),
                         jnp.float32)
  small = kernels.out_size(lr01.shape, (1 / factors[-1][0], 1 / factors[-1][1]))
  if min(small) < 4:
    raise InputError(f"the LR image is {lr01.shape[0]}x{lr01.shape[1]}: too small for x"
                     f"{max(factors[-1]):g} (its own downscale would be {small[0]}x{small[1]})")
  net = network.for_config(config)
  root = jax.random.key(config.seed)
  params = net.init(jax.random.fold_in(root, 0), jnp.zeros((1, 8, 8, lr01.shape[-1])))
  opt_state = _OPTIMIZER.init(params)
  rng = np.random.default_rng(np.random.SeedSequence(config.seed % 2**63))
  sources, source_factors = [lr01], [1.0]
  stages, images = [], []
  for index, factor in enumerate(factors):
    stage = Stage(factor)
    opt_state = _with_lr(opt_state, config.lr)
    params, opt_state = _train_factor(
        config, net, params, opt_state, stage, sources, source_factors, kernel,
        jax.random.fold_in(root, index + 1), rng, index, len(factors), report)
    result = test_time(net, params, lr01, kernel, factor, bp_iters[index], config.output_flip)
    sources.append(result)
    source_factors.append(min(factor))
    stages.append(stage)
    images.append(np.asarray(result) * 2 - 1)
    report(f"x{name_of(factor)} done: {stage.steps} steps in {loop.format_seconds(stage.seconds)}"
           f", result {result.shape[0]}x{result.shape[1]}")
    if on_stage:
      on_stage(stage, images[-1])
  return Result(images[-1], images, stages, time.perf_counter() - start)


def name_of(factor):
  """A factor as a name: "2", or "1:1.5" when anisotropic."""
  return f"{factor[0]:g}" if factor[0] == factor[1] else f"{factor[0]:g}:{factor[1]:g}"


def _train_factor(config, net, params, opt_state, stage, sources, source_factors, kernel, key,
                  rng, index, count, report):
  """Trains one factor until the rate policy or ``max_iters`` stops it."""
  start = time.perf_counter()
  one, many = _steps(net, _OPTIMIZER, config.crop_size, stage.factor, config.noise_std)
  policy = policy_lib.RatePolicy(config)
  state = {"params": params, "opt_state": opt_state}
  pending = []
  shapes = [s.shape[:2] for s in sources]
  progress = loop.Progress([1], config.max_iters)
  noise_keys, test_key = jax.random.split(key)

  def advance(step, n):
    draws = [examples.sample(rng, shapes, source_factors, config) for _ in range(n)]
    keys = [jax.random.fold_in(noise_keys, t) for t in range(step, step + n)]
    if n > 1 and len({i for i, _ in draws}) == 1:
      state["params"], state["opt_state"], losses = many(
          state["params"], state["opt_state"], sources[draws[0][0]],
          jnp.asarray(np.stack([m for _, m in draws])), jnp.stack(keys), kernel)
      pending.append(losses)
    else:
      for (i, matrix), k in zip(draws, keys):
        state["params"], state["opt_state"], loss = one(
            state["params"], state["opt_state"], sources[i], jnp.asarray(matrix), k, kernel)
        pending.append(loss[None])
    progress.stepped(step + n)

  def test(step):
    error = float(reconstruction_error(net, state["params"], sources[0],
                                       jax.random.fold_in(test_key, step), kernel,
                                       stage.factor, config.noise_std))
    policy.record(step, error)
    stage.errors.append((step, error))

  def check_policy(step):
    before = policy.lr
    stop = policy.check(step)
    if policy.lr != before:
      stage.lr_changes.append(step)
      state["opt_state"] = _with_lr(state["opt_state"], policy.lr)
    if stop:
      log(step)
    return stop

  def log(step):
    if not pending:
      return
    loss = float(np.mean(np.concatenate(jax.device_get(pending))))
    pending.clear()
    stage.losses.append((step, loss))
    error = f" rec err {stage.errors[-1][1]:.2e}" if stage.errors else ""
    report(f"x{name_of(stage.factor)} ({index + 1}/{count}) step {step}/{config.max_iters} loss "
           f"{loss:.4f} lr {policy.lr:.0e}{error} {progress.rate():.1f} steps/s")

  hooks = [loop.Hook(config.test_every, test), loop.Hook(config.policy_every, check_policy,
                                                          last=False),
           loop.Hook(config.log_every, log)]
  stage.steps = loop.run(advance, 0, config.max_iters, hooks, config.steps_per_call)
  stage.seconds = time.perf_counter() - start
  return state["params"], state["opt_state"]
