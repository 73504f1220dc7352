"""The infer CLI (and the train CLI's --infer_input) end to end, in subprocesses."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import sinir_jax as sj
from conftest import TINY, cli_battery, quiet, smooth_image


def _infer(*args):
  return subprocess.run([sys.executable, "-m", "sinir_jax.infer", *args], capture_output=True,
                        text=True, timeout=300)


def _pixels(path):
  return np.asarray(Image.open(path))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  root = tmp_path_factory.mktemp("infer")
  workdir = root / "model"
  model = sj.train(smooth_image(30, 40), TINY.replace(iters=4), workdir, report=quiet)
  image = root / "input.png"
  sj.save_image(image, smooth_image(90, 120, seed=7))
  mask = -np.ones((90, 120, 1), np.float32)
  mask[40:52, 50:66] = 1
  sj.save_image(root / "mask.png", mask)
  return root, workdir, model


def test_all_entry_scales_and_grid_at_the_training_size(trained, tmp_path):
  root, workdir, model = trained
  assert model.sizes[-1] == (18, 24)
  result = _infer(f"--workdir={workdir}", f"--input={root / 'input.png'}", "--entry_scale=all",
                  f"--output_dir={tmp_path / 'out'}")
  assert result.returncode == 0, result.stderr
  assert "resizing the input from 90x120 to 18x24 (the model's training size" in result.stdout
  for k in range(model.num_scales):
    path = tmp_path / "out" / f"entry_{k}.png"
    assert str(path) in result.stdout
    assert _pixels(path).shape == (18, 24, 3)
  grid = _pixels(tmp_path / "out" / "grid.png")
  assert grid.shape[0] >= 18 and grid.shape[1] > 24 * (model.num_scales + 1)


@pytest.fixture(scope="module")
def runs(trained, tmp_path_factory):
  """The successful infer runs below, in one process as the tool runs them: {name: (exit code,
  stdout, stderr, output folder)}."""
  root, workdir, _ = trained
  out = tmp_path_factory.mktemp("runs")
  small = -np.ones((45, 60, 1), np.float32)
  small[20:26, 25:33] = 1
  sj.save_image(out / "small_mask.png", small)
  # Small outputs, below the CPU's Winograd size: fewer programs to compile.
  sj.save_image(out / "lr.png", smooth_image(9, 12, seed=3))
  sj.save_image(out / "small.png", smooth_image(30, 40, seed=4))
  model, image = f"--workdir={workdir}", f"--input={root / 'input.png'}"
  cases = {
      "keep_input_size": [model, f"--input={out / 'small.png'}", "--entry_scale=0",
                          "--keep_input_size"],
      "img_shape_side": [model, image, "--entry_scale=0", "--img_shape=40"],
      "img_shape_pair": [model, image, "--entry_scale=0", "--img_shape=30,36"],
      "masked_edit": [model, image, "--entry_scale=-2", "--task=edit",
                      f"--mask={root / 'mask.png'}", "--keep_input_size"],
      "small_mask": [model, image, "--entry_scale=0", "--task=harmonization",
                     f"--mask={out / 'small_mask.png'}", "--keep_input_size"],
      "sr": [model, f"--input={out / 'lr.png'}", "--sr_factor=4"],
      "sr_bp": [model, f"--input={out / 'lr.png'}", "--sr_factor=4", "--back_projection_iters=3"],
  }
  outcomes = cli_battery("infer", {name: argv + [f"--output_dir={out / name}"]
                                   for name, argv in cases.items()})
  for name, (code, _, stderr) in outcomes.items():
    assert code == 0, (name, stderr)
  return {name: (*outcome, out / name) for name, outcome in outcomes.items()}


@pytest.mark.parametrize("name, shape", [("keep_input_size", (30, 40)),
                                         ("img_shape_side", (30, 40)),
                                         ("img_shape_pair", (30, 36))])
def test_input_size_flags(runs, name, shape):
  _, stdout, _, out = runs[name]
  assert "resizing the input" not in stdout
  assert _pixels(out / "entry_0.png").shape == (*shape, 3)


def test_masked_edit_keeps_far_pixels_byte_identical(trained, runs):
  root = trained[0]
  out = runs["masked_edit"][3]
  masked_files = [f for f in os.listdir(out) if f.endswith("_masked.png")]
  assert len(masked_files) == 1
  original, edited = _pixels(root / "input.png"), _pixels(out / masked_files[0])
  far = np.ones((90, 120), bool)
  far[40 - 30:52 + 30, 50 - 30:66 + 30] = False  # dilation 7 + blur reach 20 < 30 px
  np.testing.assert_array_equal(edited[far], original[far])
  assert np.abs(edited[45:48, 56:60].astype(int) - original[45:48, 56:60]).max() > 0


def test_mask_of_another_size_is_resized_with_a_note(runs):
  assert "note: the mask is 45x60" in runs["small_mask"][1]


def test_super_resolution_flag(runs):
  assert _pixels(runs["sr"][3] / "sr_x4.png").shape == (36, 48, 3)
  # --back_projection_iters brings the SR result closer to the input when downscaled.
  lr = sj.load_image(runs["sr"][3] / "input.png")
  error = lambda name: float(np.abs(np.asarray(sj.resize(
      sj.load_image(runs[name][3] / "sr_x4.png"), lr.shape[:2], "matlab")) - lr).mean())
  assert error("sr_bp") < error("sr")


def test_bad_input_one_line_exit_2_and_no_output(trained, tmp_path):
  root, workdir, _ = trained
  blank = tmp_path / "blank.png"
  sj.save_image(blank, -np.ones((90, 120, 1), np.float32))
  grey = tmp_path / "grey.png"
  sj.save_image(grey, smooth_image(30, 40, channels=1))
  broken = tmp_path / "broken.png"
  broken.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
  empty = tmp_path / "empty_run"
  empty.mkdir()
  a_file = tmp_path / "a_file"
  a_file.write_text("x")
  model, image, out = f"--workdir={workdir}", f"--input={root / 'input.png'}", tmp_path / "out"
  cases = {  # name: (argv, what the one line says)
      "entry_out_of_range": ([model, image, "--entry_scale=99"], "out of range"),
      "entry_not_int": ([model, image, "--entry_scale=top"], "--entry_scale must be an int"),
      "missing_input": ([model, f"--input={tmp_path / 'no.png'}"], "--input: cannot read"),
      "unreadable_mask": ([model, image, "--task=edit", f"--mask={broken}"],
                          "--mask: cannot read"),
      "mask_without_white": ([model, image, "--task=edit", f"--mask={blank}"], "no white pixel"),
      "mask_without_task": ([model, image, f"--mask={blank}"], "--task"),
      "no_finished_scale": ([f"--workdir={empty}", image], "no finished scale"),
      "missing_workdir": ([f"--workdir={tmp_path / 'none'}", image], "is not a folder"),
      "channel_mismatch": ([model, f"--input={grey}"], "channel"),
      "img_shape_zero": ([model, image, "--img_shape=0"], "--img_shape must be a positive"),
      "img_shape_negative": ([model, image, "--img_shape=-3"], "--img_shape must be a positive"),
      "img_shape_three": ([model, image, "--img_shape=1,2,3"], "--img_shape must be a positive"),
      "img_shape_and_keep": ([model, image, "--img_shape=40", "--keep_input_size"], "not both"),
      "sr_factor_inf": ([model, image, "--sr_factor=inf"], "--sr_factor must be a finite"),
      "sr_factor_one": ([model, image, "--sr_factor=1"], "--sr_factor must be a finite"),
      "sr_with_mask": ([model, image, "--sr_factor=2", "--task=edit", f"--mask={blank}"],
                       "drop --mask"),
      "bp_without_sr": ([model, image, "--back_projection_iters=2"], "pass --sr_factor"),
      "bp_negative": ([model, image, "--sr_factor=2", "--back_projection_iters=-1"],
                      "--back_projection_iters must be >= 0"),
      "output_dir_is_a_file": ([model, image, f"--output_dir={a_file}"], "is not a folder"),
      "output_dir_under_a_file": ([model, image, f"--output_dir={a_file / 'x'}"],
                                  "which is a file"),
      "no_input": ([model], "--input"),
  }
  outcomes = cli_battery("infer", {k: v[0] + ([] if "output_dir" in k else [f"--output_dir={out}"])
                                   for k, v in cases.items()})
  for name, (code, _, stderr) in outcomes.items():
    assert code == 2, (name, stderr)
    assert cases[name][1] in stderr and "Traceback" not in stderr, (name, stderr)
    assert len(stderr.strip().splitlines()) == 1, (name, stderr)
  assert not out.exists() and not (workdir / "infer").exists()
  assert a_file.read_text() == "x"


def test_train_cli_chains_inference(tmp_path):
  image = tmp_path / "train.png"
  sj.save_image(image, smooth_image(30, 40))
  paint = tmp_path / "paint.png"
  sj.save_image(paint, smooth_image(30, 40, seed=9))
  result = subprocess.run(
      [sys.executable, "-m", "sinir_jax.train", f"--image={image}",
       f"--workdir={tmp_path / 'run'}", *TINY.replace(iters=4).to_flags(),
       f"--infer_input={paint}"],
      capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr
  assert (tmp_path / "run" / "infer" / "paint" / "grid.png").exists()
