"""Many SinIR models stepped as one: vmapped over a leading model axis, sharded over devices.

Models of one bucket (equal pyramid sizes) at the same scale and step are stacked on a leading
axis M; the per-model step (``steps.cascade_input``'s frozen cascade, then
``steps.make_train_step``'s update) is ``jax.vmap``ped over params, Adam state, frozen nets and
pyramid, and the model axis is split over a 1-D ``Mesh`` (axis "models") of the devices of every
process. M is padded to a multiple of the device count with copies of the first model, whose
results are discarded. All the models share each step's key, as separate runs with one seed do.

Equality with single runs is up to float32 rounding, not bit for bit: XLA compiles the batched
(grouped) convolutions and the fused cascade into other kernels than the single run's
per-stage programs, and Adam amplifies that rounding where a gradient is about zero (its update
is about +-lr whatever the gradient's size). README ("Many images at once") states what holds.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec

from sinir_jax.sinir import network
from sinir_jax.sinir import steps

AXIS = "models"


def models_mesh(devices=None):
  """A 1-D Mesh over the axis "models" of ``devices`` (default: every process's devices)."""
  return Mesh(np.asarray(devices if devices is not None else jax.devices()), (AXIS,))


@functools.lru_cache(maxsize=None)
def batched_steps(config, channels, sizes, scale, mesh):
  """The jitted training steps of M models of one bucket at ``scale``, M a multiple of mesh.size.

  steps(params, opt_state, frozen, levels, keys) -> (params, opt_state, losses):
    params, opt_state: a model's trees with a leading axis M, split over the mesh.
    frozen: ``scale`` param trees, the trained nets 0..scale-1, each with the axis M.
    levels: pyramid levels 0..scale, each (M, 1, h, w, C).
    keys: (K, ...) the key data (``jax.random.key_data`` of ``steps.step_key``) of K steps,
      shared by the models; raw data, so that every process can pass the same host copy.
    losses: (K, M).
  Model m's update is ``steps.update`` on the input ``steps.cascade_input`` gives model m alone;
  the K steps run in a ``lax.scan`` (one compiled call; K is 1 unless ``steps_per_call`` > 1).
  """
  net = network.for_config(config, channels)
  optimizer = steps.make_optimizer(config)

  def one(params, opt_state, frozen, levels, key_data):
    x = steps.cascade_input(net, frozen, levels, sizes, config.interp,
                            jax.random.wrap_key_data(key_data), config.shuffle_p)
    return steps.update(net, optimizer, params, opt_state, x, levels[scale])

  every_model = jax.vmap(one, in_axes=(0, 0, 0, 0, None))

  def local(params, opt_state, frozen, levels, keys):
    def body(carry, key_data):
      params, opt_state, loss = every_model(*carry, frozen, levels, key_data)
      return (params, opt_state), loss

    if keys.shape[0] == 1:  # one step per call (the CPU's way): no loop around the convs
      (params, opt_state), loss = body((params, opt_state), keys[0])
      return params, opt_state, loss[None]
    (params, opt_state), losses = jax.lax.scan(body, (params, opt_state), keys)
    return params, opt_state, losses

  # shard_map rather than jit's automatic partitioning, which splits the grouped convs that
  # vmap makes of per-model convs into invalid shapes: each device steps its own models.
  models = PartitionSpec(AXIS)
  sharded = jax.shard_map(local, mesh=mesh,
                          in_specs=(models, models, models, models, PartitionSpec()),
                          out_specs=(models, models, PartitionSpec(None, AXIS)))
  return jax.jit(sharded, donate_argnums=(0, 1))


class Stepper:
  """Steps ``models`` together (``scale_loop``'s stepper interface) on ``mesh``."""

  def __init__(self, job, models, states, scale, mesh):
    self.job, self.scale, self.count = job, scale, len(models)
    self.size = -(-self.count // mesh.size) * mesh.size
    sharding = NamedSharding(mesh, PartitionSpec(AXIS))
    self.params, self.opt_state = _stack(states, self.size, sharding)
    self.frozen = tuple(_stack([m.finished[k] for m in models], self.size, sharding)
                        for k in range(scale))
    self.levels = tuple(_stack([m.levels[k] for m in models], self.size, sharding)
                        for k in range(scale + 1))
    self.step_fn = batched_steps(job.config, models[0].channels, models[0].plan.sizes, scale,
                                 mesh)
    self.pending, self.host = [], None

  def advance(self, step, count):
    keys = np.stack([np.asarray(jax.random.key_data(steps.step_key(self.job.train_key,
                                                                   self.scale, t)))
                     for t in range(step, step + count)])
    self.params, self.opt_state, losses = self.step_fn(self.params, self.opt_state, self.frozen,
                                                       self.levels, keys)
    self.pending.append(losses)
    self.host = None

  def take_losses(self):
    losses = [np.asarray(a, np.float64) for a in _to_host(self.pending)]
    self.pending = []
    return np.concatenate([np.zeros((0, self.size))] + losses)[:, :self.count]

  def host_params(self):
    if self.host is None:  # one gather per step, however many hooks read it
      self.host = _to_host(self.params)
    return [_model_slice(self.host, m) for m in range(self.count)]

  def host_states(self):
    host = _to_host((self.params, self.opt_state))
    return [_model_slice(host, m) for m in range(self.count)]


def _stack(trees, size, sharding):
  """The trees stacked on a new leading axis, padded to ``size`` with copies of the first (the
  dummy models), placed with ``sharding``."""
  trees = trees + [trees[0]] * (size - len(trees))

  def place(*leaves):
    # Each process places its own devices' slices; jax.device_put would first check across
    # processes that all hold the same stack (they do).
    stacked = np.stack([np.asarray(leaf) for leaf in leaves])
    return jax.make_array_from_callback(stacked.shape, sharding, lambda index: stacked[index])

  return jax.tree.map(place, *trees)


def _to_host(tree):
  """The stacked models of every process as host arrays, in every process."""
  return multihost_utils.process_allgather(tree, tiled=True)


def _model_slice(tree, m):
  """Model m's tree from a host copy of a stacked tree, as arrays on the default device."""
  return jax.tree.map(lambda a: jnp.asarray(a[m]), tree)
