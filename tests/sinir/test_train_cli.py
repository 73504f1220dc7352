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
from conftest import cli_battery, manifest_entries, smooth_image

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
  def scale_0_finished_and_a_partial_saved():
    entries = manifest_entries(workdir / "checkpoints")
    return "scales/0" in entries and any(key.startswith("partial/") for key in entries)

  deadline = time.time() + 120
  while time.time() < deadline and not scale_0_finished_and_a_partial_saved():
    time.sleep(0.05)
  # Frozen mid-scale (it keeps the run's lock) while the second run starts: on a loaded
  # machine the tiny run would otherwise finish before the kill.
  proc.send_signal(signal.SIGSTOP)
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


def test_bad_flags_and_inputs_one_line_exit_2_before_any_work(tmp_path, image_path):
  small = tmp_path / "small.png"
  sj.save_image(small, smooth_image(8, 8))
  blocker = tmp_path / "file"
  blocker.write_text("not a folder")
  broken = tmp_path / "broken.png"
  broken.write_bytes(b"not an image")
  image, run = f"--image={image_path}", f"--workdir={tmp_path / 'run'}"
  tiny = ["--max_size=40", "--net_ch=8", "--iters=1"]
  cases = {  # name: (argv, what the one line says)
      "min_size": ([image, run, *tiny, "--min_size=50"], "min_size"),
      "scale_factor": ([image, run, *tiny, "--scale_factor=1.5"], "scale_factor"),
      "shuffle_p": ([image, run, *tiny, "--shuffle_p=-0.1"], "shuffle_p"),
      "iters_zero": ([image, run, *tiny, "--iters=0"], "iters"),
      "task": ([image, run, *tiny, "--task=video"], "task"),
      "interp": ([image, run, *tiny, "--interp=nearest"], "interp"),
      "iters_text": ([image, run, *tiny, "--iters=many"], "iters"),
      "img_shape": ([image, run, *tiny, "--img_shape=big"], "--img_shape must be"),
      "img_shape_zero": ([image, run, *tiny, "--img_shape=0"], "--img_shape must be"),
      "unknown_flag": ([image, run, *tiny, "--no_such_flag=1"], "no_such_flag"),
      "seed_too_big": ([image, run, *tiny, f"--seed={2**63}"], "seed must fit in 64 bits"),
      "steps_per_call": ([image, run, *tiny, "--steps_per_call=0"], "steps_per_call"),
      "conv_impl": ([image, run, *tiny, "--conv_impl=fft"], "conv_impl"),
      "empty_image": (["--image=", run, *tiny], "--image is empty"),
      "missing_image": ([f"--image={tmp_path / 'nope.png'}", run, *tiny], "--image: cannot read"),
      "small_image": ([f"--image={small}", run, *tiny, "--min_size=25"], "min_size is 25"),
      "unwritable_workdir": ([f"--image={small}", f"--workdir={blocker / 'run'}", *tiny,
                              "--min_size=4"], "cannot write to workdir"),
      "arguments": ([image, run, *tiny, "extra"], "unexpected arguments"),
      "infer_missing_input": ([image, run, *tiny, f"--infer_input={tmp_path / 'no.png'}"],
                              "--infer_input: cannot read"),
      "infer_bad_mask": ([image, run, *tiny, f"--infer_input={image_path}", "--infer_task=edit",
                          f"--infer_mask={broken}"], "--infer_mask: cannot read"),
      "infer_mask_without_task": ([image, run, *tiny, f"--infer_input={image_path}",
                                   f"--infer_mask={image_path}"], "--infer_task"),
      "infer_entry_out_of_range": ([image, run, *tiny, f"--infer_input={image_path}",
                                    "--infer_entry_scale=40"], "--infer_entry_scale=40 is out"),
      "infer_img_shape": ([image, run, *tiny, f"--infer_input={image_path}",
                           "--infer_img_shape=-3"], "--infer_img_shape must be"),
      "infer_sr_factor": ([image, run, *tiny, f"--infer_input={image_path}",
                           "--infer_sr_factor=inf"], "--infer_sr_factor must be"),
  }
  outcomes = cli_battery("train", {k: v[0] for k, v in cases.items()}, cwd=tmp_path)
  for name, (code, _, stderr) in outcomes.items():
    assert code == 2, (name, stderr)
    assert cases[name][1] in stderr and "Traceback" not in stderr, (name, stderr)
    assert len(stderr.strip().splitlines()) == 1, (name, stderr)
  assert not (tmp_path / "run").exists() and not (tmp_path / "runs").exists()
