"""The training loop: cadences, calls of up to K steps that land on every hook's steps, stops."""
import pytest

from sinir_jax.core import loop


@pytest.mark.parametrize("step, every, total, last, due", [
    (4, 4, 10, True, True), (5, 4, 10, True, False), (10, 4, 10, True, True),
    (10, 4, 10, False, False), (8, 4, 10, False, True), (3, 0, 10, True, False),
    (10, 0, 10, True, False)])
def test_itstime(step, every, total, last, due):
  assert loop.itstime(step, every, total, last) is due


def _trace(total, hooks, steps_per_call, first=0):
  calls, seen = [], []
  made = [loop.Hook(every, (lambda name: lambda step: seen.append((name, step)))(name), last)
          for name, every, last in hooks]
  end = loop.run(lambda step, count: calls.append((step, count)), first, total, made,
                 steps_per_call)
  return calls, seen, end


def test_calls_of_k_steps_end_on_every_hook_step():
  calls, seen, end = _trace(10, [("log", 4, True), ("ckpt", 3, False)], steps_per_call=5)
  assert calls == [(0, 3), (3, 1), (4, 2), (6, 2), (8, 1), (9, 1)]
  assert seen == [("ckpt", 3), ("log", 4), ("ckpt", 6), ("log", 8), ("ckpt", 9), ("log", 10)]
  assert end == 10


def test_one_step_per_call_and_resume_from_a_step():
  calls, seen, _ = _trace(7, [("log", 2, True)], steps_per_call=1, first=3)
  assert calls == [(3, 1), (4, 1), (5, 1), (6, 1)]
  assert seen == [("log", 4), ("log", 6), ("log", 7)]


def test_without_hooks_calls_are_k_long_and_the_last_is_shorter():
  calls, _, _ = _trace(10, [("never", 0, True)], steps_per_call=4)
  assert calls == [(0, 4), (4, 4), (8, 2)]


def test_a_hook_stops_the_loop():
  calls = []
  hook = loop.Hook(2, lambda step: step >= 4)
  end = loop.run(lambda step, count: calls.append(step), 0, 100, [hook])
  assert end == 4 and calls == [0, 1, 2, 3]


def test_progress_eta_counts_later_stages_by_cost(monkeypatch):
  clock = iter([0.0])
  monkeypatch.setattr(loop.time, "perf_counter", lambda: next(clock, 10.0))
  progress = loop.Progress([1, 3], steps_per_stage=10)
  progress.start(0)
  progress.stepped(1)  # the first call (it compiles) starts the clock at 0 s
  progress.stepped(6)  # 5 more steps at 10 s: 0.5 steps/s
  assert progress.rate() == pytest.approx(0.5)
  # 4 steps left here, and 10 steps of a 3x dearer stage: (4 + 30) / 0.5 s = 1m08s.
  assert progress.eta() == "1m08s"
  assert loop.format_seconds(3725) == "1h02m"
