"""Fits one Deep Image Prior run through ``core.loop.run``: the jitted step of ``steps``, with
hooks that log (progress line, metrics.jsonl, a NaN check), save snapshots and stop early.

Keys: the seed's key splits into the net's init key, the fixed input's key and the noise key,
whose ``fold_in`` with the step gives that step's input perturbation. So a run is a pure
function of its config and observation, whatever ``steps_per_call`` is and wherever it is
cut into calls. Step counts are steps done: "step 100" is the state after 100 updates, and its
output is the one the 100th update's loss was computed on.

The final image is the last step's output, the one whose loss and PSNR the last log line shows.
The official notebooks run one more forward pass after the last update (on the same perturbed
input), so the two are one Adam step apart; taking the last step's output saves a second
compiled program. The PSNR against a reference is that of the clipped output (the saved image).
The notebooks log the unclipped one, which is the same under the sigmoid.
"""
import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np

from sinir_jax.core import loop
from sinir_jax.dip import config as config_lib
from sinir_jax.dip import early_stop
from sinir_jax.dip import inputs
from sinir_jax.dip import network
from sinir_jax.dip import runs
from sinir_jax.dip import steps


class DIPDiverged(RuntimeError):
  """Every loss since the last log step was NaN or inf."""


@dataclasses.dataclass(frozen=True)
class DIPResult:
  """The outcome of a run; images (H, W, C) in [-1, 1] at the result's size.

  image: the output of the last step run; ema: the running average of the outputs (the
  official smoothed result); auto: the output at the windowed variance's minimum
  (``early_stop``), None without ``es_window`` or if the window never filled; auto_ema: the
  running average at that step (None likewise); auto_step: its
  step (0: none); steps: the steps run (fewer than ``iters`` when stopped early);
  stopped_early: whether ``es_patience`` stopped it; history: per-step arrays, entry i for step
  i + 1 ("loss", "fit_psnr", "backtracked", and "variance", "psnr", "psnr_ema" where computed);
  config: the resolved config.
  """
  image: np.ndarray
  ema: np.ndarray
  auto: np.ndarray | None
  auto_ema: np.ndarray | None
  auto_step: int
  steps: int
  stopped_early: bool
  history: dict
  config: config_lib.DIPConfig


def settings_for(problem, config):
  """The ``steps.StepSettings`` of a run."""
  net = config_lib.net_for(config, problem.target.shape[-1])
  return steps.StepSettings(
      net=net, lr=config.lr, reg_noise_std=config.reg_noise_std, ema=config.ema,
      backtrack=config.backtrack, backtrack_drop=config.backtrack_drop,
      backtrack_every=config.backtrack_every, es_window=config.es_window,
      factor=problem.factor, crop=problem.crop, count=problem.count,
      steps_per_call=config.steps_per_call)


def run_data(problem, config):
  """(init key, the step's data: fixed input, observation, weights, noise key, reference)."""
  init_key, input_key, noise_key = jax.random.split(jax.random.key(config.seed), 3)
  data = {"z": inputs.fixed_input(input_key, config.input, config.input_depth, problem.out_size,
                                  config.input_scale),
          "target": jnp.asarray(problem.target), "weight": jnp.asarray(problem.weight),
          "key": noise_key}
  if problem.reference is not None:
    data["reference"] = jnp.asarray(problem.reference)
  return init_key, data


class _History:
  """Per-step metrics: device values queued by each call, fetched at log steps."""

  def __init__(self):
    self.pending, self.columns = [], {}

  def add(self, logged, count):
    self.pending.append((logged, count))

  def flush(self):
    """Fetches the queued steps: {name: host array of those steps}."""
    fetched = jax.device_get([logged for logged, _ in self.pending])
    new = {}
    for logged, (_, count) in zip(fetched, self.pending):
      for name, values in logged.items():
        values = np.atleast_1d(values)[:count]  # count None: one step
        new.setdefault(name, []).append(values)
    self.pending = []
    new = {name: np.concatenate(parts) for name, parts in new.items()}
    for name, values in new.items():
      self.columns.setdefault(name, []).append(values)
    return new

  def arrays(self):
    return {name: np.concatenate(parts) for name, parts in self.columns.items()}


def _shown(channels):
  return ",".join(map(str, channels))


def to_result_image(image):
  """A (1, h, w, C) image in [0, 1] as (h, w, C) in [-1, 1]."""
  return np.clip(np.asarray(image)[0] * 2 - 1, -1, 1)


def fit(problem, config, *, report=print, workdir=None, overwrite=False, flag_lines=None):
  """Runs Deep Image Prior on ``problem`` (``tasks.build_problem``) with the validated
  ``config``; ``workdir``: the run folder (``runs``), ``flag_lines`` its flags.cfg. Returns a
  ``DIPResult``; raises DIPDiverged."""
  settings = settings_for(problem, config)
  init_key, data = run_data(problem, config)
  run = runs.open_run(workdir, problem, config, flag_lines, overwrite) if workdir else None
  try:
    return _fit(problem, config, settings, init_key, data, report, run)
  finally:
    if run is not None:
      run.close()


def _fit(problem, config, settings, init_key, data, report, run):
  h, w = problem.crop[2:]
  params = network.param_count(settings.net, config.input_depth)
  report(f"{problem.task}: {h}x{w} result; net {_shown(config.net_down)} skip "
         f"{_shown(config.net_skip)} ({params:,} params) on {problem.out_size[0]}x"
         f"{problem.out_size[1]}; {config.iters} steps"
         + (f"; run folder {run.path}" if run else ""))
  state = steps.make_init(settings)(init_key, data["z"])
  step_fn = steps.make_step(settings)
  history = _History()
  progress = loop.Progress([1.0], config.iters)
  progress.start(0, 0)
  stopped = []
  start = time.perf_counter()

  def advance(step, count):
    nonlocal state
    if settings.steps_per_call == 1:
      state, logged = step_fn(state, data)
      history.add(logged, None)
    else:
      state, logged = step_fn(state, data, count)
      history.add(logged, count)
    progress.stepped(step + count)

  def log(step):
    new = history.flush()
    if not np.isfinite(new["loss"]).any():
      raise DIPDiverged(f"the loss became NaN or inf before step {step}: try a lower --lr")
    first = step - len(new["loss"]) + 1
    for offset in np.flatnonzero(new["backtracked"]):
      report(f"step {first + offset}: the fit PSNR fell by more than {config.backtrack_drop:g} "
             f"dB: weights restored to the last snapshot")
    record = {"step": step, **{name: float(values[-1]) for name, values in new.items()
                               if name != "backtracked"},
              "backtracked": int(new["backtracked"].sum())}
    line = (f"step {step}/{config.iters} loss {record['loss']:.3e} fit {record['fit_psnr']:.2f} "
            f"dB")
    if "psnr" in record:
      line += f" psnr {record['psnr']:.2f} ema {record['psnr_ema']:.2f} dB"
    if settings.es_window:
      record["best_step"] = int(jax.device_get(state["es"]["best_step"]))
      if record["best_step"]:
        line += f" var {record['variance']:.3g} (min at {record['best_step']})"
    report(f"{line} {progress.rate():.2f} steps/s ETA {progress.eta()}")
    if run:  # NaN or inf (a variance before the window fills) as null: valid JSON
      run.log({k: v if np.isfinite(v) else None for k, v in record.items()})
    if settings.es_window and early_stop.should_stop(step, record["best_step"],
                                                      config.es_patience):
      report(f"early stop at step {step}: the output's windowed variance has not reached a new "
             f"minimum for {config.es_patience} steps (the auto output is step "
             f"{record['best_step']}'s)")
      stopped.append(step)
      return True
    return False

  def snapshot(step):
    out, ema = jax.device_get((state["out"], state["ema"]))
    runs.write_snapshot(run, step, to_result_image(steps.crop(settings, out)),
                        to_result_image(steps.crop(settings, ema)))

  hooks = [loop.Hook(config.log_every, log)]
  if run and config.snapshot_every:
    hooks.append(loop.Hook(config.snapshot_every, snapshot, last=False))
  done = loop.run(advance, 0, config.iters, hooks, config.steps_per_call)
  history.flush()
  out, ema = jax.device_get((state["out"], state["ema"]))
  auto = auto_ema = None
  auto_step = 0
  if settings.es_window:
    best, best_ema, auto_step = jax.device_get(
        (state["es"]["best"], state["es"]["best_ema"], state["es"]["best_step"]))
    auto_step = int(auto_step)
    if auto_step:
      auto, auto_ema = to_result_image(best), to_result_image(best_ema)
  result = DIPResult(image=to_result_image(steps.crop(settings, out)),
                     ema=to_result_image(steps.crop(settings, ema)),
                     auto=auto, auto_ema=auto_ema, auto_step=auto_step, steps=done,
                     stopped_early=bool(stopped), history=history.arrays(), config=config)
  seconds = time.perf_counter() - start
  report(f"done: {done} steps in {loop.format_seconds(seconds)}" + (
      f"; the auto output is step {auto_step}'s" if auto_step else ""))
  if run:
    runs.write_results(run, result, problem, seconds)
  return result
