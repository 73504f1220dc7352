"""The one training loop: steps in calls of up to K, periodic work as hooks, progress and ETA.

Every method trains through ``run``: ``advance(step, count)`` runs ``count`` steps as one call
(one compiled program on accelerators, one step at a time on CPU), and after each call every
``Hook`` whose cadence ``itstime`` says is due runs. A call never passes a step a hook is due at,
so checkpoints, logs and previews land on their exact steps whatever K is.
"""
import dataclasses
import time
from typing import Callable


def itstime(step, every, total, last=True):
  """Whether periodic work of cadence ``every`` (0: never) is due once ``step`` of ``total``
  steps are done: at each multiple of ``every`` and, with ``last``, at the final step."""
  if not every:
    return False
  return step % every == 0 or (last and step == total)


@dataclasses.dataclass
class Hook:
  """Periodic work: ``fn(step)`` after ``step`` steps, when ``itstime(step, every, total,
  last)``. ``fn`` returns True to stop the loop there."""
  every: int
  fn: Callable[[int], object]
  last: bool = True


def run(advance, first, total, hooks, steps_per_call=1):
  """Steps from ``first`` to ``total`` and returns the step it stopped at.

  Args:
    advance: ``advance(step, count)`` runs steps ``step .. step + count - 1``.
    first, total: the steps already done, and the last one.
    hooks: ``Hook``s, run in order after every call at which they are due.
    steps_per_call: the most steps one call runs (K); a call is shorter where a hook is due.
  """
  step = first
  while step < total:
    count = min(steps_per_call, total - step,
                *(hook.every - step % hook.every for hook in hooks if hook.every))
    advance(step, count)
    step += count
    stop = False
    for hook in hooks:
      if itstime(step, hook.every, total, hook.last):
        stop = bool(hook.fn(step)) or stop
    if stop:
      break
  return step


def format_seconds(seconds):
  """12m05s, or 1h02m past an hour."""
  seconds = int(round(seconds))
  return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else (
      f"{seconds // 60}m{seconds % 60:02d}s")


class Progress:
  """Steps per second and the ETA of a run made of stages of known relative cost.

  ``costs[i]`` is stage i's cost per step (e.g. the pixels its step touches); the rate is
  measured on the current stage from the end of its first call (which compiles).
  """

  def __init__(self, costs, steps_per_stage):
    self.costs, self.steps = list(costs), steps_per_stage
    self.stage, self.t0, self.t0_step, self.step = 0, None, 0, 0

  def start(self, stage, step=0):
    self.stage, self.t0, self.step = stage, None, step

  def stepped(self, step):
    if self.t0 is None:
      self.t0, self.t0_step = time.perf_counter(), step
    self.step = step

  def rate(self):
    done = self.step - self.t0_step
    return done / (time.perf_counter() - self.t0) if done > 0 else float("nan")

  def eta(self):
    rate = self.rate()
    if not rate > 0:
      return "?"
    later = sum(self.costs[self.stage + 1:]) / self.costs[self.stage] * self.steps
    return format_seconds((self.steps - self.step + later) / rate)
