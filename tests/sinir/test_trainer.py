import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sinir_jax as sj
from sinir_jax.core import rundir
from sinir_jax.sinir import loss as losses
from sinir_jax.sinir import steps
from conftest import (TINY, assert_identical, params_leaves, quiet, reconstruction_loss,
                      release_params, smooth_image)


def test_schedule_is_the_releases(golden):
  """The rate Adam uses (the schedule make_optimizer builds), and the rate it applies."""
  lrs = golden("train_steps")["lrs"]  # the release's cosine: 4 steps a scale, two scales
  config = sj.Config(lr=1e-3, iters=4)
  schedule = steps.make_schedule(config)
  np.testing.assert_allclose([float(schedule(t)) for t in range(4)] * 2, lrs, rtol=2e-7)
  # Adam's step t moves a parameter by about lr_t (the first step by exactly lr_0 * sign(g)).
  optimizer = steps.make_optimizer(config)
  params = {"w": jnp.zeros(3)}
  state = optimizer.init(params)
  moves = []
  for _ in range(4):
    updates, state = optimizer.update({"w": jnp.array([1.0, -2.0, 3.0])}, state, params)
    moves.append(float(updates["w"][0]))
  np.testing.assert_allclose(-np.array(moves), lrs[:4], rtol=1e-5)


# Adam's first update is lr * sign(g): a gradient element within float32 rounding of zero (one
# of the 14k here has |g| ~ 1e-8 against a median of 1e-2) moves by +-lr whichever way its
# rounding falls, and the difference then spreads through the next steps. Measured: such a flip
# leaves the losses within 7.4e-5 and 97.6 % of the params within 1e-4 of the release's; a wrong
# b1 (0.9), a constant rate, the schedule one step off or lr 10 % high move the losses by
# 1.4e-2 or more and leave at most 36 % of the params within 1e-4.
LOSS_ATOL, PARAM_ATOL = 1e-4, 1e-4


def test_matches_release_steps(golden):
  data = golden("train_steps")
  config = sj.Config(net_ch=16, lr=1e-3, iters=4, shuffle_p=0.0)
  net, optimizer = sj.ScaleNet(16, 3), steps.make_optimizer(config)
  step = steps.make_train_step(net, optimizer)
  levels = [jnp.asarray(data["img0"])[None], jnp.asarray(data["img1"])[None]]
  sizes = [(18, 24), (24, 32)]

  def run(scale, params, frozen):
    opt_state, scale_losses = optimizer.init(params), []
    for t in range(4):
      x = steps.cascade_input(net, frozen, levels, sizes, "pytorch",
                              steps.step_key(jax.random.key(0), scale, t), 0.0)
      params, opt_state, loss = step(params, opt_state, x, levels[scale])
      scale_losses.append(float(loss))
    return params, scale_losses

  scale0, losses0 = run(0, release_params(data, "init"), ())
  np.testing.assert_allclose(losses0, data["losses"][:4], atol=LOSS_ATOL, rtol=0)
  release0 = release_params(data, "scale0_final")
  scale1, losses1 = run(1, jax.tree.map(jnp.copy, release0), (release0,))
  np.testing.assert_allclose(losses1, data["losses"][4:], atol=LOSS_ATOL, rtol=0)
  for ours, name in [(scale0, "scale0_final"), (scale1, "scale1_final")]:
    diff = np.concatenate([np.abs(a - b).ravel() for a, b in zip(
        params_leaves([ours]), params_leaves([release_params(data, name)]), strict=True)])
    assert (diff <= PARAM_ATOL).mean() >= 0.95
    assert diff.max() <= 2 * 1e-3 * 8


def test_one_compilation_per_scale(monkeypatch):
  traces, loss_fn = [], losses.sinir_loss

  def counted(pred, target):
    traces.append(pred.shape)
    return loss_fn(pred, target)

  monkeypatch.setattr(losses, "sinir_loss", counted)
  result = sj.train(smooth_image(30, 40), TINY, report=quiet)
  assert result.num_scales >= 3
  assert len(traces) == result.num_scales
  assert [s[1:3] for s in traces] == list(result.sizes)


def test_scales_start_from_previous_and_seed_determinism():
  image = smooth_image(30, 40)
  first = sj.train(image, TINY, report=quiet)
  again = sj.train(image, TINY, report=quiet)
  other = sj.train(image, TINY.replace(seed=1), report=quiet)
  assert_identical(first.params, again.params)
  assert any(not np.array_equal(a, b) for a, b in zip(params_leaves(first.params), params_leaves(other.params)))
  # A later scale is a few Adam steps away from its predecessor, far closer than a fresh init.
  step_bound = 2 * TINY.lr * TINY.iters
  for prev, cur in zip(first.params, first.params[1:]):
    assert max(np.abs(a - b).max() for a, b in zip(params_leaves([prev]), params_leaves([cur]))) <= step_bound


def test_photo_and_sr_plans():
  image = smooth_image(20, 30)
  photo = sj.train(image, TINY.replace(task="photo", iters=2), report=quiet)
  assert photo.factor == 1.0 and photo.sizes == ((20, 30), (20, 30))
  sr = sj.train(image, TINY.replace(task="sr", iters=2, num_scales=3, sr_factor=4,
                                    interp="matlab"), report=quiet)
  assert sr.factor == pytest.approx(0.5) and sr.sizes == ((5, 8), (10, 15), (20, 30))


def test_grey_image_end_to_end(tmp_path):
  result = sj.train(smooth_image(30, 40, channels=1), TINY.replace(iters=2), tmp_path / "run",
                    report=quiet)
  assert result.channels == 1
  loaded = sj.load_model(tmp_path / "run")
  assert loaded.channels == 1 and loaded.params[0]["params"]["to_rgb_1"]["kernel"].shape[-1] == 1


def test_workdir_outputs_and_load_model(tmp_path):
  workdir = tmp_path / "run"
  result = sj.train(smooth_image(30, 40), TINY, workdir, report=quiet)
  loaded = sj.load_model(workdir)
  assert_identical(result.params, loaded.params)
  assert loaded.config == TINY and loaded.sizes == result.sizes
  assert loaded.factor == result.factor
  names = set(os.listdir(workdir))
  assert {"config.json", "flags.cfg", "metrics.jsonl", "previews", "reconstruction.png",
          "reconstructions.png"} <= names
  previews = os.listdir(workdir / "previews")
  assert "pyramid.png" in previews
  assert len([p for p in previews if p.startswith("scale_")]) == result.num_scales
  records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert {r["scale"] for r in records if "loss" in r} == set(range(result.num_scales))
  assert len([r for r in records if "seconds" in r]) == result.num_scales
  grid = sj.load_image(workdir / "reconstructions.png")
  assert grid.shape[1] > result.sizes[-1][1]


def _stop_at(kind, scale, step=None):
  """An on_event that interrupts training at the event of ``kind`` at ``scale`` (and step)."""
  def on_event(event):
    if event.kind == kind and event.scale == scale and step in (None, event.step):
      raise KeyboardInterrupt
  return on_event


def test_stopped_after_a_scale_resumes_identically(tmp_path):
  image = smooth_image(30, 40)
  reference = sj.train(image, TINY, report=quiet)
  with pytest.raises(KeyboardInterrupt):
    sj.train(image, TINY, tmp_path / "run", report=quiet, on_event=_stop_at("scale", 0))
  assert len(sj.load_model(tmp_path / "run").params) == 1
  lines = []
  resumed = sj.train(image, TINY, tmp_path / "run", report=lines.append)
  assert any("resuming" in line for line in lines)
  assert_identical(reference.params, resumed.params)


def test_mid_scale_checkpoint_resumes_identically(tmp_path):
  image = smooth_image(30, 40)
  config = TINY.replace(checkpoint_every=2, log_every=1)
  reference = sj.train(image, config, report=quiet)
  with pytest.raises(KeyboardInterrupt):
    sj.train(image, config, tmp_path / "run", report=quiet, on_event=_stop_at("step", 1, 5))
  lines = []
  resumed = sj.train(image, config, tmp_path / "run", report=lines.append)
  assert any("resuming scale 2/" in line and "step 4" in line for line in lines)
  assert_identical(reference.params, resumed.params)


def test_other_config_or_image_refused_unless_overwrite(tmp_path):
  image = smooth_image(30, 40)
  sj.train(image, TINY.replace(iters=1), tmp_path / "run", report=quiet)
  with pytest.raises(sj.InputError, match="another config .*seed"):
    sj.train(image, TINY.replace(iters=1, seed=5), tmp_path / "run", report=quiet)
  with pytest.raises(sj.InputError, match="another image"):
    sj.train(image[::-1], TINY.replace(iters=1), tmp_path / "run", report=quiet)
  before = sj.load_model(tmp_path / "run")
  assert before.config.seed == 0
  sj.train(image, TINY.replace(iters=1, seed=5), tmp_path / "run", overwrite=True,
           report=quiet)
  assert sj.load_model(tmp_path / "run").config.seed == 5


def test_live_lock_refused(tmp_path):
  identity = {"config": TINY.to_dict(), "image_sha256": "x"}
  holder = rundir.RunDir(tmp_path / "run", identity, [])
  try:
    with pytest.raises(sj.InputError, match="in use"):
      rundir.RunDir(tmp_path / "run", identity, [])
  finally:
    holder.close()
  rundir.RunDir(tmp_path / "run", identity, []).close()


def test_nan_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
  image, loss_fn = smooth_image(30, 40), losses.sinir_loss

  def nan_at_second_scale(pred, target):
    loss = loss_fn(pred, target)
    return loss * jnp.nan if target.shape[1] > TINY.min_size else loss

  monkeypatch.setattr(losses, "sinir_loss", nan_at_second_scale)
  with pytest.raises(sj.TrainingDiverged, match="NaN or Inf at scale 2/.*scale 1 of 4 stay saved"):
    sj.train(image, TINY, tmp_path / "run", report=quiet)
  kept = sj.load_model(tmp_path / "run")
  assert kept.num_scales == 1
  assert all(np.isfinite(leaf).all() for leaf in params_leaves(kept.params))


@pytest.mark.parametrize("changes, message", [
    (dict(min_size=30, max_size=30), "min_size"),
    (dict(scale_factor=1.0), "scale_factor"),
    (dict(scale_factor=0.0), "scale_factor"),
    (dict(shuffle_p=1.5), "shuffle_p"),
    (dict(iters=0), "iters"),
    (dict(task="video"), "task"),
    (dict(interp="lanczos"), "interp"),
    (dict(net_ch=7), "net_ch"),
    (dict(lr=0.0), "lr"),
    (dict(img_shape=(0, 5)), "img_shape"),
])
def test_bad_config(changes, message):
  with pytest.raises(sj.InputError, match=message) as err:
    TINY.replace(**changes).validate()
  assert "\n" not in str(err.value)


def test_image_smaller_than_min_size():
  with pytest.raises(sj.InputError, match="min_size"):
    sj.train(smooth_image(10, 40), TINY, report=quiet)


# README (Accelerators): K steps per compiled call compute the same training as one step per call
# up to float32 rounding (other kernels), which Adam amplifies as for train_many.
RECON_RTOL = 1e-2


def test_steps_per_call_trains_the_same_model_within_float32_noise():
  image = smooth_image(30, 40)
  config = TINY.replace(iters=8, log_every=4)
  one = sj.train(image, config, report=quiet)
  four = sj.train(image, config.replace(steps_per_call=4), report=quiet)
  assert_identical(four.params, sj.train(image, config.replace(steps_per_call=4),
                                         report=quiet).params)
  diff = np.concatenate([np.abs(a - b).ravel() for a, b in zip(
      params_leaves(one.params), params_leaves(four.params), strict=True)])
  assert 0 < diff.max() <= 2 * config.lr * config.iters * one.num_scales
  single, fused = reconstruction_loss(one, image), reconstruction_loss(four, image)
  assert abs(fused - single) <= RECON_RTOL * single, (single, fused)
  # Other shuffles (another seed) land much further away: the tolerance separates them.
  other = reconstruction_loss(sj.train(image, config.replace(seed=1), report=quiet), image)
  assert abs(other - single) > 10 * abs(fused - single)


def test_steps_per_call_resumes_identically(tmp_path):
  image = smooth_image(30, 40)
  config = TINY.replace(iters=8, log_every=4, checkpoint_every=4, steps_per_call=4)
  reference = sj.train(image, config, report=quiet)
  with pytest.raises(KeyboardInterrupt):
    sj.train(image, config, tmp_path / "run", report=quiet, on_event=_stop_at("step", 2, 8))
  assert_identical(reference.params, sj.train(image, config, tmp_path / "run",
                                              report=quiet).params)


def test_max_size_leaving_the_short_side_below_min_size():
  with pytest.raises(sj.InputError, match="shorter side is 17 px, below --min_size=25"):
    sj.train(smooth_image(171, 256), sj.Config(max_size=26), report=quiet)
