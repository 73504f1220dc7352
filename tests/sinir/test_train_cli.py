"""The train CLI end to end, in subprocesses."""
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

import sinir_jax as sj
from conftest import smooth_image

TINY_FLAGS = ["--min_size=12", "--max_size=24", "--scale_factor=0.7", "--net_ch=8",
              "--iters=6", "--log_every=3"]


def _train(*args, cwd=None):
  return subprocess.run([sys.executable, "-m", "sinir_jax.train", *args], capture_output=True,
                        text=True, timeout=300, cwd=cwd)


def _params(workdir):
  return [np.asarray(x) for x in jax.tree.leaves(list(sj.load_model(workdir).params))]


@pytest.fixture(scope="module")
def image_path(tmp_path_factory):
  path = tmp_path_factory.mktemp("img") / "generated.png"
  sj.save_image(path, smooth_image(30, 40))
  return str(path)


def test_end_to_end_and_flagfile_reproduces(tmp_path, image_path):
  workdir = tmp_path / "run"
  result = _train(f"--image={image_path}", f"--workdir={workdir}", *TINY_FLAGS)
  assert result.returncode == 0, result.stderr
  assert "scale 1/" in result.stdout and "steps/s" in result.stdout and "ETA" in result.stdout
  assert str(workdir) in result.stdout
  for name in ["flags.cfg", "config.json", "metrics.jsonl", "reconstructions.png",
               "previews/pyramid.png", "previews/scale_00.png"]:
    assert (workdir / name).exists(), name
  again = _train(f"--flagfile={workdir / 'flags.cfg'}", f"--workdir={tmp_path / 'again'}")
  assert again.returncode == 0, again.stderr
  for a, b in zip(_params(workdir), _params(tmp_path / "again"), strict=True):
    np.testing.assert_array_equal(a, b)


def test_default_image_and_fresh_workdir(tmp_path):
  result = _train("--max_size=24", "--min_size=12", "--net_ch=8", "--iters=1", cwd=tmp_path)
  assert result.returncode == 0, result.stderr
  runs = os.listdir(tmp_path / "runs")
  assert len(runs) == 1 and runs[0].startswith("default_")
  assert str(tmp_path / "runs" / runs[0]) in result.stdout


def test_sigkill_mid_scale_then_rerun_is_identical(tmp_path, image_path):
  flags = [f"--image={image_path}", "--min_size=12", "--max_size=24", "--scale_factor=0.7",
           "--net_ch=8", "--iters=40", "--checkpoint_every=5", "--log_every=5"]
  reference = _train(*flags, f"--workdir={tmp_path / 'reference'}")
  assert reference.returncode == 0, reference.stderr
  workdir = tmp_path / "killed"
  proc = subprocess.Popen([sys.executable, "-m", "sinir_jax.train", *flags,
                           f"--workdir={workdir}"], stdout=subprocess.PIPE, text=True)
  partial = workdir / "checkpoints" / "partial"
  deadline = time.time() + 120
  while time.time() < deadline and not (
      (workdir / "checkpoints" / "scales" / "0").exists() and partial.exists()
      and os.listdir(partial)):
    time.sleep(0.05)
  busy = _train(*flags, f"--workdir={workdir}")
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert busy.returncode == 2 and "in use" in busy.stderr, busy.stderr
  rerun = _train(*flags, f"--workdir={workdir}")
  assert rerun.returncode == 0, rerun.stderr
  assert "resuming" in rerun.stdout
  for a, b in zip(_params(tmp_path / "reference"), _params(workdir), strict=True):
    np.testing.assert_array_equal(a, b)
  refused = _train(*flags, "--seed=9", f"--workdir={workdir}")
  assert refused.returncode == 2 and "another config (seed)" in refused.stderr


@pytest.mark.parametrize("flag, message", [
    ("--min_size=50", "min_size"),
    ("--scale_factor=1.5", "scale_factor"),
    ("--shuffle_p=-0.1", "shuffle_p"),
    ("--iters=0", "iters"),
    ("--task=video", "task"),
    ("--interp=nearest", "interp"),
    ("--iters=many", "iters"),
    ("--img_shape=big", "img_shape"),
    ("--no_such_flag=1", "no_such_flag"),
])
def test_bad_flag_one_line_exit_2(tmp_path, image_path, flag, message):
  result = _train(f"--image={image_path}", f"--workdir={tmp_path / 'run'}", "--max_size=40",
                  flag)
  assert result.returncode == 2
  assert message in result.stderr and "Traceback" not in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("case", ["small_image", "missing_image", "unwritable_workdir"])
def test_bad_input_one_line_exit_2(tmp_path, case):
  small = tmp_path / "small.png"
  sj.save_image(small, smooth_image(8, 8))
  blocker = tmp_path / "file"
  blocker.write_text("not a folder")
  image, workdir = {
      "small_image": (small, tmp_path / "run"),
      "missing_image": (tmp_path / "nope.png", tmp_path / "run"),
      "unwritable_workdir": (small, blocker / "run"),
  }[case]
  min_size = "--min_size=4" if case == "unwritable_workdir" else "--min_size=25"
  result = _train(f"--image={image}", f"--workdir={workdir}", min_size, "--max_size=40",
                  "--net_ch=8", "--iters=1")
  assert result.returncode == 2, result.stderr
  assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
  assert not (tmp_path / "run").exists() or not os.listdir(tmp_path / "run")
