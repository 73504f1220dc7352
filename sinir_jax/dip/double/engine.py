"""The coupled DIPs of one Double-DIP run: several skip nets, each mapping its own fixed input
to a layer, a mask or a map, fitted together by one jitted step (compiled once per run, for
every phase and pass: the phase, the step within it and "last step" are traced arguments).

A task is a ``Spec``: its nets, a loss ``loss(outs, data, phase, it) -> (loss, logged)`` whose
``logged["psnr"]`` scores the recomposition, and a schedule ``schedule(phase, it, last) ->
(reg_noise_std, augmentation)``; module-level functions, so equal specs share programs. Nets
listed in ``gated`` run only in that phase (a ``lax.cond``; zeros otherwise), so a phase pays
for the nets it trains alone.

Every net runs at a size that its depth divides (``layout``), its input noise of that size; its
output is cropped to the image's window before any loss, so the border is free as in DIP's
tasks. Augmentation (the official ``create_augmentations``: index k < 4 is a rotation by k
quarter turns, k >= 4 an up-down flip then k - 4 quarter turns) transforms the net's input and
the inverse transforms its output, so the losses always compare in the image's frame (all of
them are invariant to these transforms). Quarter turns of a non-square image would change the
net's shape, so there index k becomes k - k % 2 (its half-turn or flip partner).

Keys: the run key splits into the nets' init keys and the noise key, whose ``fold_in`` with the
phase and step gives that step's perturbations: a run is a pure function of its seed.
"""
import dataclasses
import functools
import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from sinir_jax.core import loop
from sinir_jax.dip import inputs
from sinir_jax.dip import network
from sinir_jax.dip import ops


@dataclasses.dataclass(frozen=True)
class Spec:
  """What a task's step program depends on besides its arrays (hashable)."""
  nets: tuple  # ((name, network.Skip), ...)
  lr: float
  loss: Callable
  schedule: Callable
  noisy: frozenset  # nets whose input the schedule's noise perturbs
  gated: tuple = ()  # ((name, phase), ...): nets that run only in that phase
  crop: tuple = (0, 0, 1, 1)  # (top, left, h, w) of the image in the nets' output
  square: bool = True  # the nets' output is square (all 8 augmentations are shapes alike)
  track_every: int = 0  # keep the outputs of the best recomposition PSNR every K steps (0: no)


def layout(size, nets):
  """(the nets' output size, (top, left) of the image in it) for an (h, w) image."""
  depth = max(net.depth for net in nets)
  side = max(network.min_side(net) for net in nets)
  out = tuple(ops.round_up(max(s, side), 2 ** depth) for s in size)
  return out, tuple(ops.centre_pad(s, o)[0] for s, o in zip(size, out))


def fixed_inputs(key, names, kinds, depth, size, scale):
  """{name: (1, H, W, depth) input}: "noise" U[0, scale) or "meshgrid" (x, y repeated)."""
  keys = jax.random.split(key, len(names))
  z = {}
  for name, kind, k in zip(names, kinds, keys):
    if kind == "meshgrid":
      z[name] = jnp.tile(inputs.fixed_input(k, "meshgrid", 2, size), (1, 1, 1, depth // 2))
    else:
      z[name] = inputs.fixed_input(k, "noise", depth, size, scale)
  return z


def _rot(x, k):
  return jnp.rot90(x, k, axes=(1, 2))


def _forward(x, k):
  return _rot(x, k) if k < 4 else _rot(x[:, ::-1], k - 4)


def _inverse(x, k):
  return _rot(x, -k) if k < 4 else _rot(x, 4 - k)[:, ::-1]


def augment(x, k, inverse=False):
  """The official augmentation ``k`` (traced, 0..7) of an NHWC array, or its inverse; for a
  non-square array, only the shape-keeping ones (pass k - k % 2)."""
  fn = _inverse if inverse else _forward
  if x.shape[1] == x.shape[2]:
    return jax.lax.switch(k, [functools.partial(fn, k=i) for i in range(8)], x)
  return jax.lax.switch(k // 2, [functools.partial(fn, k=i) for i in (0, 2, 4, 6)], x)


def _crop(spec, x):
  top, left, h, w = spec.crop
  return x[:, top:top + h, left:left + w]


def optimizer(spec):
  return optax.adam(spec.lr)


@functools.lru_cache(maxsize=None)
def _net_init(net):
  """The jitted init of one net: nets alike (all of a tiny test's, a task's two layer nets)
  share one program, the costliest to compile of a run."""
  return jax.jit(net.init)


@functools.lru_cache(maxsize=None)
def _state_of(spec):
  """params -> the state at step 0 (Adam, outputs, best outputs), jitted."""
  def state(params):
    h, w = spec.crop[2:]
    out = {name: jnp.zeros((1, h, w, net.out_channels), jnp.float32) for name, net in spec.nets}
    return {"params": params, "opt_state": optimizer(spec).init(params), "out": out,
            "best": out, "best_psnr": jnp.array(-jnp.inf, jnp.float32)}

  return jax.jit(state)


@functools.lru_cache(maxsize=None)
def _adam_init(spec):
  return jax.jit(optimizer(spec).init)


def init_state(spec, key, z):
  """The state at step 0: each net initialised (PyTorch 0.4's default) from its own key."""
  keys = jax.random.split(key, len(spec.nets))
  params = {name: _net_init(net)(k, z[name]) for (name, net), k in zip(spec.nets, keys)}
  return _state_of(spec)(params)


def one_step(spec, state, data, phase, it, last):
  """One step: (state, per-step metrics "loss", "psnr" and the task's)."""
  key = jax.random.fold_in(jax.random.fold_in(data["key"], phase), it)
  std, k = spec.schedule(phase, it, last)
  if not spec.square:
    k = k - k % 2
  gated = dict(spec.gated)
  zs = {}
  for (name, _), nkey in zip(spec.nets, jax.random.split(key, len(spec.nets))):
    z = augment(data["z"][name], k)
    if name in spec.noisy:
      z = z + std * jax.random.normal(nkey, z.shape, z.dtype)
    zs[name] = z

  def loss_fn(params):
    outs = {}
    for name, net in spec.nets:
      def run(p, name=name, net=net):
        return _crop(spec, augment(net.apply(p, zs[name]), k, inverse=True))

      if name in gated:
        shape = state["out"][name].shape
        outs[name] = jax.lax.cond(phase == gated[name], run,
                                  lambda p, shape=shape: jnp.zeros(shape, jnp.float32),
                                  params[name])
      else:
        outs[name] = run(params[name])
    loss, logged = spec.loss(outs, data, phase, it)
    return loss, (outs, logged)

  (loss, (outs, logged)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
  updates, opt_state = optimizer(spec).update(grads, state["opt_state"], state["params"])
  new = dict(state, params=optax.apply_updates(state["params"], updates), opt_state=opt_state,
             out=outs)
  if spec.track_every:
    better = (it % spec.track_every == 0) & (logged["psnr"] > state["best_psnr"])
    new["best"] = jax.tree.map(lambda a, b: jnp.where(better, a, b), outs, state["best"])
    new["best_psnr"] = jnp.where(better, logged["psnr"], state["best_psnr"])
  return new, dict(logged, loss=loss)


@functools.lru_cache(maxsize=None)
def make_step(spec):
  """step(state, data, phase, it, last) -> (state, metrics), jitted, the state donated."""
  return jax.jit(functools.partial(one_step, spec), donate_argnums=(0,))


def psnr(a, b):
  """-10 log10 MSE of two arrays in [0, 1] (peak 1, the official ``compare_psnr``)."""
  return -10 * jnp.log10(jnp.mean(jnp.square(a - b)))


class Run:
  """One fit of a ``Spec``'s nets: phases of steps, logged, the outputs on the host."""

  def __init__(self, spec, data, key, *, report, label, history, log_every):
    self.spec, self.data, self.report, self.label = spec, data, report, label
    self.log_every = log_every
    self.state = init_state(spec, key, data["z"])
    self.step = make_step(spec)
    self.history = history

  def phase(self, phase, iters, *, name, stop=None):
    """Runs ``iters`` steps of ``phase`` (Adam restarted after the first phase); ``stop(psnr)``
    checked after each step ends the phase early. Returns the steps run."""
    if phase:
      self.state["opt_state"] = _adam_init(self.spec)(self.state["params"])
    pending = []
    progress = loop.Progress([1.0], iters)
    progress.start(0, 0)

    def advance(step, _):
      self.state, logged = self.step(self.state, self.data, np.int32(phase), np.int32(step),
                                     np.bool_(step == iters - 1))
      pending.append(logged)
      progress.stepped(step + 1)

    def check(_):
      return stop(float(jax.device_get(pending[-1]["psnr"])))

    def log(step):
      fetched = jax.device_get(pending)
      pending.clear()
      for name_ in fetched[0]:
        self.history.setdefault(name_, []).extend(float(f[name_]) for f in fetched)
      last = fetched[-1]
      if not all(math.isfinite(f["loss"]) for f in fetched):
        raise FloatingPointError(f"{self.label} {name}: the loss became NaN or inf before step "
                                 f"{step}: try a lower --lr")
      extra = "".join(f" {k} {float(v):.4g}" for k, v in last.items() if k not in ("loss",
                                                                                    "psnr"))
      self.report(f"{self.label} {name} step {step}/{iters} loss {float(last['loss']):.4g} "
                  f"psnr {float(last['psnr']):.2f} dB{extra} {progress.rate():.2f} steps/s "
                  f"ETA {progress.eta()}")

    hooks = [loop.Hook(1, check)] if stop else []
    hooks.append(loop.Hook(self.log_every, log))
    done = loop.run(advance, 0, iters, hooks)
    if pending:
      log(done)
    return done

  def outputs(self, which="out"):
    """{net: (h, w, C) float32 output in [0, 1]} of the last step (or the "best")."""
    return {k: np.asarray(v)[0] for k, v in jax.device_get(self.state[which]).items()}
