"""ZSSR runs: determinism, one compile per run, K steps per call, the CLI end to end and its bad
inputs."""
import json
import subprocess
import sys

import numpy as np
import pytest

import sinir_jax as sj
from sinir_jax.zssr import config as config_lib
from sinir_jax.zssr import trainer
from conftest import cli_battery, quiet, smooth_image

TINY = config_lib.ZSSRConfig(crop_size=16, width=8, depth=3, max_iters=24, min_iters=8,
                             test_every=4, slope_range=12, policy_every=6, log_every=8,
                             back_projection_iters="2")
TINY_FLAGS = [f for f in TINY.to_flags() if not f.startswith(("--kernel=", "--scale_factors="))]


@pytest.fixture(scope="module")
def lr_image():
  return smooth_image(12, 14)


def test_seeded_runs_repeat_and_compile_once(lr_image, monkeypatch):
  traces = []
  real = trainer._loss  # pylint: disable=protected-access

  def counted(*args):
    traces.append(1)
    return real(*args)

  monkeypatch.setattr(trainer, "_loss", counted)
  config = TINY.replace(crop_size=18)  # a step no other test compiled
  first = trainer.super_resolve(lr_image, config, report=quiet)
  assert len(traces) == 1  # one compile for the whole run
  again = trainer.super_resolve(lr_image, config, report=quiet)
  np.testing.assert_array_equal(first.image, again.image)
  other = trainer.super_resolve(lr_image, config.replace(seed=1), report=quiet)
  assert np.abs(first.image - other.image).max() > 1e-4
  assert first.image.shape == (24, 28, 3) and first.stages[0].steps <= config.max_iters
  assert -1 <= first.image.min() and first.image.max() <= 1


def test_gradual_x4_adds_each_result_as_a_source():
  result = trainer.super_resolve(smooth_image(16, 18), TINY.replace(sr_factor=4, max_iters=8,
                                                                    output_flip=False),
                                 report=quiet)
  assert [s.factor for s in result.stages] == [(2.0, 2.0), (4.0, 4.0)]
  assert [im.shape for im in result.images] == [(32, 36, 3), (64, 72, 3)]


def test_steps_per_call_is_the_same_training_within_float32_noise(lr_image):
  one = trainer.super_resolve(lr_image, TINY, report=quiet)
  four = trainer.super_resolve(lr_image, TINY.replace(steps_per_call=4), report=quiet)
  assert [s.steps for s in one.stages] == [s.steps for s in four.stages]
  assert np.abs(one.image - four.image).mean() < 2e-3


def test_cli_end_to_end_with_a_given_kernel(tmp_path, lr_image):
  sj.save_image(tmp_path / "lr.png", lr_image)
  kernel = np.exp(-np.add.outer(np.arange(-2, 3) ** 2, np.arange(-2, 3) ** 2 / 2.0))
  np.save(tmp_path / "k.npy", kernel / kernel.sum())
  result = subprocess.run(
      [sys.executable, "-m", "sinir_jax.zssr", f"--image={tmp_path / 'lr.png'}", "--sr_factor=2",
       f"--output={tmp_path / 'sr.png'}", f"--kernel={tmp_path / 'k.npy'}", *TINY_FLAGS],
      capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr
  assert "with the given kernel" in result.stdout and "steps/s" in result.stdout
  assert sj.load_image(tmp_path / "sr.png").shape == (24, 28, 3)
  folder = tmp_path / "sr_zssr"
  assert (folder / "loss.png").exists() and (folder / "x2.png").exists()
  records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
  assert any("loss" in r for r in records) and any("reconstruction_mse" in r for r in records)
  assert json.loads((folder / "config.json").read_text())["kernel"].endswith("k.npy")


def test_bad_inputs_one_line_exit_2(tmp_path, lr_image):
  sj.save_image(tmp_path / "lr.png", lr_image)
  sj.save_image(tmp_path / "exists.png", lr_image)
  np.save(tmp_path / "sum2.npy", np.full((3, 3), 2 / 9))
  (tmp_path / "junk.mat").write_bytes(b"not a mat file")
  image, out = f"--image={tmp_path / 'lr.png'}", f"--output={tmp_path / 'sr.png'}"
  cases = {  # name: (argv, what the one line says)
      "missing_image": ([f"--image={tmp_path / 'no.png'}", out], "--image: cannot read"),
      "no_output": ([image], "--output"),
      "factor_one": ([image, out, "--sr_factor=1"], "--sr_factor must be"),
      "factor_negative": ([image, out, "--sr_factor=-2"], "--sr_factor must be"),
      "non_normalised_kernel": ([image, out, f"--kernel={tmp_path / 'sum2.npy'}"],
                                "not normalised"),
      "unreadable_kernel": ([image, out, f"--kernel={tmp_path / 'junk.mat'}"], "unreadable"),
      "missing_kernel": ([image, out, f"--kernel={tmp_path / 'none.npy'}"], "no such file"),
      "existing_output": ([image, f"--output={tmp_path / 'exists.png'}"], "exists"),
      "bad_extension": ([image, f"--output={tmp_path / 'sr.tiff'}"], ".png or .jpg"),
      "bad_factors": ([image, out, "--scale_factors=2,two"], "--scale_factors"),
      "tiny_image_x8": ([image, out, "--sr_factor=8"], "too small"),
  }
  outcomes = cli_battery("zssr.__main__", {k: v[0] + TINY_FLAGS[1:] for k, v in cases.items()})
  for name, (code, _, stderr) in outcomes.items():
    assert code == 2, (name, stderr)
    assert cases[name][1] in stderr and "Traceback" not in stderr, (name, stderr)
    assert len(stderr.strip().splitlines()) == 1, (name, stderr)
  assert not (tmp_path / "sr.png").exists() and not (tmp_path / "sr_zssr").exists()
