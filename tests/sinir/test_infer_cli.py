"""The infer CLI (and the train CLI's --infer_input) end to end, in subprocesses."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import sinir_jax as sj
from conftest import TINY, quiet, smooth_image


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


@pytest.mark.parametrize("flag, shape", [("--keep_input_size", (90, 120)),
                                         ("--img_shape=60", (45, 60)),
                                         ("--img_shape=30,50", (30, 50))])
def test_input_size_flags(trained, tmp_path, flag, shape):
  root, workdir, _ = trained
  result = _infer(f"--workdir={workdir}", f"--input={root / 'input.png'}", "--entry_scale=0",
                  flag, f"--output_dir={tmp_path / 'out'}")
  assert result.returncode == 0, result.stderr
  assert "resizing the input" not in result.stdout
  assert _pixels(tmp_path / "out" / "entry_0.png").shape == (*shape, 3)


def test_masked_edit_keeps_far_pixels_byte_identical(trained, tmp_path):
  root, workdir, _ = trained
  result = _infer(f"--workdir={workdir}", f"--input={root / 'input.png'}", "--entry_scale=-2",
                  "--task=edit", f"--mask={root / 'mask.png'}", "--keep_input_size",
                  f"--output_dir={tmp_path / 'o'}")
  assert result.returncode == 0, result.stderr
  masked_files = [f for f in os.listdir(tmp_path / "o") if f.endswith("_masked.png")]
  assert len(masked_files) == 1
  original, edited = _pixels(root / "input.png"), _pixels(tmp_path / "o" / masked_files[0])
  far = np.ones((90, 120), bool)
  far[40 - 30:52 + 30, 50 - 30:66 + 30] = False  # dilation 7 + blur reach 20 < 30 px
  np.testing.assert_array_equal(edited[far], original[far])
  assert np.abs(edited[45:48, 56:60].astype(int) - original[45:48, 56:60]).max() > 0


def test_mask_of_another_size_is_resized_with_a_note(trained, tmp_path):
  root, workdir, _ = trained
  small = -np.ones((45, 60, 1), np.float32)
  small[20:26, 25:33] = 1
  sj.save_image(tmp_path / "small_mask.png", small)
  result = _infer(f"--workdir={workdir}", f"--input={root / 'input.png'}", "--entry_scale=0",
                  "--task=harmonization", f"--mask={tmp_path / 'small_mask.png'}",
                  "--keep_input_size", f"--output_dir={tmp_path / 'o'}")
  assert result.returncode == 0, result.stderr
  assert "note: the mask is 45x60" in result.stdout


def test_super_resolution_flag(trained, tmp_path):
  root, workdir, _ = trained
  sj.save_image(tmp_path / "lr.png", smooth_image(20, 30, seed=3))
  result = _infer(f"--workdir={workdir}", f"--input={tmp_path / 'lr.png'}", "--sr_factor=4",
                  f"--output_dir={tmp_path / 'sr'}")
  assert result.returncode == 0, result.stderr
  assert _pixels(tmp_path / "sr" / "sr_x4.png").shape == (80, 120, 3)


def _bad_cases(root, workdir, tmp_path):
  blank = tmp_path / "blank.png"
  sj.save_image(blank, -np.ones((90, 120, 1), np.float32))
  grey = tmp_path / "grey.png"
  sj.save_image(grey, smooth_image(30, 40, channels=1))
  broken = tmp_path / "broken.png"
  broken.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
  empty = tmp_path / "empty_run"
  empty.mkdir()
  image = f"--input={root / 'input.png'}"
  return {
      "entry_out_of_range": ([f"--workdir={workdir}", image, "--entry_scale=99"], "out of range"),
      "entry_not_int": ([f"--workdir={workdir}", image, "--entry_scale=top"], "entry_scale"),
      "missing_input": ([f"--workdir={workdir}", f"--input={tmp_path / 'no.png'}"], "no such"),
      "unreadable_mask": ([f"--workdir={workdir}", image, "--task=edit", f"--mask={broken}"],
                          "cannot read"),
      "mask_without_white": ([f"--workdir={workdir}", image, "--task=edit", f"--mask={blank}"],
                             "no white pixel"),
      "mask_without_task": ([f"--workdir={workdir}", image, f"--mask={blank}"], "task"),
      "no_finished_scale": ([f"--workdir={empty}", image], "no finished scale"),
      "channel_mismatch": ([f"--workdir={workdir}", f"--input={grey}"], "channel"),
  }


@pytest.mark.parametrize("case", ["entry_out_of_range", "entry_not_int", "missing_input",
                                  "unreadable_mask", "mask_without_white", "mask_without_task",
                                  "no_finished_scale", "channel_mismatch"])
def test_bad_input_one_line_exit_2(trained, tmp_path, case):
  root, workdir, _ = trained
  args, message = _bad_cases(root, workdir, tmp_path)[case]
  result = _infer(*args, f"--output_dir={tmp_path / 'out'}")
  assert result.returncode == 2, (result.stdout, result.stderr)
  assert message in result.stderr and "Traceback" not in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr


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
