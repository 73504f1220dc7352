"""Training: the layout and the loss, backtracking, the running average, early stopping,
determinism, one compile per run, K steps per call, result sizes, the measurement helper."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sinir_jax import dip
from sinir_jax.dip import early_stop
from sinir_jax.dip import measure
from sinir_jax.dip import ops
from sinir_jax.dip import steps
from sinir_jax.dip import tasks
from sinir_jax.dip import trainer
from conftest import quiet
from conftest import smooth_image
from tiny_dip import TINY, clean, hole_mask, noisy


def _inpaint_problem():
  config = tasks.task_config(TINY, "inpaint")
  problem = tasks.build_problem("inpaint", clean(), config, mask=hole_mask(), reference=clean())
  return problem, config


def test_layout_pads_to_the_net_and_centres_the_image():
  problem, _ = _inpaint_problem()
  # 15x13 in a 16x16 output (multiples of 2 ** depth = 4): rows 0-14, columns 1-13.
  assert problem.out_size == (16, 16) and problem.crop == (0, 1, 15, 13)
  assert problem.count == 3 * 15 * 13 and problem.factor == 1
  expected = np.zeros((16, 16), np.float32)
  expected[0:15, 1:14] = hole_mask()
  np.testing.assert_array_equal(problem.weight[0, :, :, 0], expected)
  np.testing.assert_allclose(problem.target[0, 0:15, 1:14],
                             (clean() + 1) / 2 * hole_mask()[..., None])
  sr = tasks.build_problem("sr", clean()[:5, :3], tasks.task_config(TINY, "sr"))
  # x4 of 5x3 is 20x12, a multiple of lcm(4, 4) already: no padding.
  assert (sr.out_size, sr.target.shape, sr.crop, sr.factor) == ((20, 12), (1, 5, 3, 3),
                                                                (0, 0, 20, 12), 4)
  small = tasks.build_problem("sr", clean()[:1, :3], tasks.task_config(TINY, "sr", sr_factor=8))
  # x8 of 1x3: 8x24 -> the net needs multiples of lcm(4, 8) = 8 and min_side 8: no padding.
  assert (small.out_size, small.crop) == ((8, 24), (0, 0, 8, 24))


def test_masked_loss_is_the_official_one_and_ignores_unknown_pixels():
  problem, config = _inpaint_problem()
  settings = trainer.settings_for(problem, config)
  out = jax.random.uniform(jax.random.key(0), (1, 16, 16, 3))
  target, weight = jnp.asarray(problem.target), jnp.asarray(problem.weight)
  loss_fn = lambda o: steps.loss_of(settings, o, target, weight)
  mask, image = hole_mask()[..., None], (clean() + 1) / 2
  real = np.asarray(out)[0, 0:15, 1:14]
  # The official inpainting loss: the mean over all values of (out * mask - image * mask) ** 2.
  np.testing.assert_allclose(loss_fn(out), np.mean((real * mask - image * mask) ** 2), rtol=1e-5)
  grad = np.asarray(jax.grad(loss_fn)(out))[0]
  known = np.zeros((16, 16), bool)
  known[0:15, 1:14] = hole_mask() > 0
  assert np.all(grad[~known] == 0) and np.all(np.abs(grad[known]).sum(-1) > 0)


def test_sr_loss_compares_the_lanczos2_downscale():
  lr = clean()[:4, :3]
  config = tasks.task_config(TINY, "sr")
  problem = tasks.build_problem("sr", lr, config)
  settings = trainer.settings_for(problem, config)
  out = jax.random.uniform(jax.random.key(1), (1, 16, 12, 3))
  expected = np.mean((np.asarray(ops.downsample(out, 4))[0] - (lr + 1) / 2) ** 2)
  np.testing.assert_allclose(steps.loss_of(settings, out, jnp.asarray(problem.target),
                                           jnp.asarray(problem.weight)), expected, rtol=1e-5)


@pytest.fixture(scope="module")
def stepper():
  """(step program, data, fresh state) of the tiny denoising run with a reference."""
  config = tasks.task_config(TINY, "denoise")
  problem = tasks.build_problem("denoise", noisy(), config, reference=clean())
  settings = trainer.settings_for(problem, config)
  key, data = trainer.run_data(problem, config)
  return steps.make_step(settings), data, lambda: steps.make_init(settings)(key, data["z"])


def _copy(state):
  return jax.tree.map(jnp.copy, state)


def _leaves(tree):
  return [np.asarray(leaf) for leaf in jax.tree.leaves(tree)]


def test_backtracking_restores_the_snapshot_and_still_steps(stepper):
  step, data, fresh = stepper
  state, logged = step(fresh(), data)  # i = 0: not checked
  assert not logged["backtracked"] and int(state["bt_count"]) == 1
  state, logged = step(state, data)  # i = 1: checked and accepted
  assert int(state["bt_count"]) == 2 and float(state["bt_last"]) == float(logged["fit_psnr"])
  before = jax.device_get(state)
  # A forced spike: the last accepted fit is 1000 dB, so this step's is a drop of > 5 dB.
  fell, fell_log = step(dict(_copy(state), bt_last=jnp.float32(1000.0)), data)
  kept, kept_log = step(_copy(state), data)
  assert bool(fell_log["backtracked"]) and not kept_log["backtracked"]
  # The same gradients and Adam state give the same update, applied to the snapshot instead.
  for a, b, snapshot, now in zip(_leaves(fell["params"]), _leaves(kept["params"]),
                                 _leaves(before["bt_params"]), _leaves(before["params"])):
    np.testing.assert_allclose(a - snapshot, b - now, atol=1e-6)
  assert int(fell["bt_count"]) == 2 and float(fell["bt_last"]) == 1000.0
  for a, b in zip(_leaves(fell["bt_params"]), _leaves(before["bt_params"])):
    np.testing.assert_array_equal(a, b)
  for a, b in zip(_leaves(kept["bt_params"]), _leaves(before["params"])):
    np.testing.assert_array_equal(a, b)  # the snapshot: the weights of this step's output
  assert int(kept["bt_count"]) == 3
  # Adam's moments are not restored, and the running average took the bad output too.
  for a, b in zip(_leaves((fell["opt_state"], fell["ema"])), _leaves((kept["opt_state"],
                                                                      kept["ema"]))):
    np.testing.assert_array_equal(a, b)
  # At multiples of backtrack_every nothing is checked.
  unchecked, logged = step(dict(_copy(state), bt_last=jnp.float32(1000.0),
                                bt_count=jnp.int32(TINY.backtrack_every)), data)
  assert not logged["backtracked"] and int(unchecked["bt_count"]) == TINY.backtrack_every + 1


def test_the_average_is_the_running_mean_of_the_outputs(stepper):
  step, data, fresh = stepper
  state, average = fresh(), None
  for _ in range(4):
    state, _ = step(state, data)
    out = np.asarray(state["out"])
    average = out if average is None else 0.99 * average + 0.01 * out
  np.testing.assert_allclose(state["ema"], average, atol=1e-6)
  assert int(state["step"]) == 4


def test_early_stop_picks_the_minimum_of_the_windowed_variance():
  rng = np.random.default_rng(0)
  scales = [1.0, 0.8, 0.5, 0.3, 0.2, 0.25, 0.4, 0.6, 0.9]
  images = [s * rng.standard_normal((1, 4, 3, 2)).astype(np.float32) for s in scales]
  state, update = early_stop.init(3, (1, 4, 3, 2)), jax.jit(early_stop.update)
  variances = []
  averages = [rng.standard_normal((1, 4, 3, 2)).astype(np.float32) for _ in images]
  for t, (image, average) in enumerate(zip(images, averages)):
    state, variance = update(state, image, t, average)
    variances.append(float(variance))
  expected = [np.nan, np.nan] + [np.mean((np.stack(images[t - 2:t + 1]) -
                                          np.mean(images[t - 2:t + 1], axis=0)) ** 2)
                                 for t in range(2, len(images))]
  np.testing.assert_allclose(variances, expected, rtol=1e-5)
  best = int(np.nanargmin(expected))
  assert int(state["best_step"]) == best + 1
  np.testing.assert_array_equal(state["best"], images[best])
  np.testing.assert_array_equal(state["best_ema"], averages[best])
  assert float(state["best_variance"]) == pytest.approx(expected[best], rel=1e-5)
  assert not early_stop.should_stop(best + 1 + 3, best + 1, 4)
  assert early_stop.should_stop(best + 1 + 4, best + 1, 4)
  assert not early_stop.should_stop(100, best + 1, 0)  # patience 0: never
  assert not early_stop.should_stop(100, 0, 4)  # no minimum yet


@pytest.fixture(scope="module")
def denoised():
  return dip.denoise(noisy(), TINY, reference=clean(), report=quiet)


def test_denoise_result(denoised):
  assert (denoised.image.shape == denoised.ema.shape == denoised.auto.shape
          == denoised.auto_ema.shape == (15, 13, 3))
  assert denoised.steps == 12 and not denoised.stopped_early
  assert 3 <= denoised.auto_step <= 12 and denoised.config.task == "denoise"
  history = denoised.history
  assert {k: len(v) for k, v in history.items()} == {
      k: 12 for k in ("loss", "fit_psnr", "backtracked", "variance", "psnr", "psnr_ema")}
  np.testing.assert_allclose(history["fit_psnr"], -10 * np.log10(history["loss"]), rtol=1e-5)
  assert np.isnan(history["variance"][:2]).all() and np.isfinite(history["variance"][2:]).all()
  assert history["psnr"][-1] == pytest.approx(measure.psnr(denoised.image, clean()), abs=1e-3)
  assert history["psnr"][denoised.auto_step - 1] == pytest.approx(
      measure.psnr(denoised.auto, clean()), abs=1e-3)
  assert history["psnr_ema"][-1] == pytest.approx(measure.psnr(denoised.ema, clean()), abs=1e-3)
  assert history["psnr_ema"][denoised.auto_step - 1] == pytest.approx(
      measure.psnr(denoised.auto_ema, clean()), abs=1e-3)


def test_runs_are_deterministic_and_seeded(denoised):
  again = dip.denoise(noisy(), TINY, reference=clean(), report=quiet)
  for a, b in ((again.image, denoised.image), (again.ema, denoised.ema),
               (again.history["loss"], denoised.history["loss"])):
    np.testing.assert_array_equal(a, b)
  other = dip.denoise(noisy(), TINY.replace(seed=1), reference=clean(), report=quiet)
  assert not np.array_equal(other.image, denoised.image)


def test_steps_per_call_matches_one_step_and_compiles_once(denoised):
  lines = []
  # Calls of 3 steps, cut to 1 before each log step (every 4): two call lengths, one program.
  fused = dip.denoise(noisy(), TINY.replace(steps_per_call=3), reference=clean(),
                      report=lines.append)
  np.testing.assert_allclose(fused.history["loss"], denoised.history["loss"], rtol=1e-4)
  np.testing.assert_allclose(fused.image, denoised.image, atol=1e-4)
  assert fused.auto_step == denoised.auto_step and fused.steps == 12
  assert sum(line.startswith("step ") for line in lines) == 3
  for k in (1, 3):
    config = tasks.task_config(TINY.replace(steps_per_call=k), "denoise")
    settings = trainer.settings_for(
        tasks.build_problem("denoise", noisy(), config, reference=clean()), config)
    # Every run of these settings so far (several, in this module) used one compiled program.
    assert steps.make_step(settings)._cache_size() == 1  # pylint: disable=protected-access


def test_early_stopping_stops_at_a_log_step_past_the_patience():
  result = dip.denoise(noisy(), TINY.replace(iters=60, es_patience=5), reference=clean(),
                       report=quiet)
  assert result.stopped_early and result.steps < 60 and result.steps % TINY.log_every == 0
  # The first log step at which 5 steps have passed since the minimum.
  assert result.steps - TINY.log_every < result.auto_step + 5 <= result.steps
  assert len(result.history["loss"]) == result.steps


def test_a_diverged_run_raises():
  # An input of 1e38 overflows the first convs: every loss is NaN (the same step program).
  with pytest.raises(trainer.DIPDiverged, match="NaN or inf before step 4: try a lower --lr"):
    dip.denoise(noisy(), TINY.replace(input_scale=1e38), reference=clean(), report=quiet)


def test_inpainting_ignores_the_hidden_pixels():
  image, mask = clean(), hole_mask()
  first = dip.inpaint(image, mask, TINY, reference=image, report=quiet)
  changed = image.copy()
  changed[mask == 0] = -1
  second = dip.inpaint(changed, mask, TINY, reference=image, report=quiet)
  assert first.image.shape == (15, 13, 3)
  np.testing.assert_array_equal(first.image, second.image)
  np.testing.assert_array_equal(first.history["loss"], second.history["loss"])


def test_super_resolve_makes_the_x4_image():
  hr = smooth_image(16, 12, seed=2)
  result = dip.super_resolve(hr[1::4, 1::4], 4, TINY, reference=hr, report=quiet)
  assert result.image.shape == (16, 12, 3) and result.config.sr_factor == 4
  assert np.isfinite(result.history["psnr"]).all()


def test_measure_denoising_reports_every_output():
  lines = []
  rows = measure.measure_denoising({"crop": clean()}, sigma=25, config=TINY, report=lines.append)
  (row,) = rows
  assert row["noisy"] == pytest.approx(measure.psnr(measure.add_noise(clean(), 25, 0), clean()))
  assert set(row) == {"name", "steps", "noisy", "final", "ema", "auto", "auto_ema", "auto_step",
                      "best", "best_step"}
  assert row["best"] >= max(row["final"], row["auto"]) - 1e-3 and row["steps"] == 12
  assert lines[-1].startswith("mean of 1: noisy ")
