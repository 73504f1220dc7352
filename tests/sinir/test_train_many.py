"""train_many end to end, in subprocesses with 4 fake CPU devices (one process of 4, or two
processes of 2 joined by jax.distributed on 127.0.0.1), against single-image runs.

What README ("Many images at once") promises, and these tests check: a rerun with the same
images, flags and device count is bit-identical; against a single run (``sj.train``, same
flags) each model is equal up to float32 rounding, which Adam amplifies where a gradient is
about zero: every param within 2 * lr * steps trained (Adam moves a param by about lr per step),
and the final reconstruction loss (``conftest.reconstruction_loss``) within RECON_RTOL relative.
Measured over 20 models in 4 configs (8-16 channels, 4-60 steps, 24-40 px): at most 0.22 %;
another seed moves the loss by 4-28 %.
"""
import collections
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import jax
import numpy as np
import pytest

import sinir_jax as sj
from conftest import (TINY, assert_identical, manifest_entries, quiet, reconstruction_loss,
                      smooth_image)

FLAGS = ["--min_size=12", "--max_size=24", "--scale_factor=0.7", "--net_ch=8", "--iters=4"]
CONFIG = sj.Config(min_size=12, max_size=24, scale_factor=0.7, net_ch=8, iters=4)
CADENCE = dict(checkpoint_every=0, preview_every=0, log_every=50)
# Two buckets of 3 scales, landscape and portrait.
SIZES = {f"x{k}": (24, 36) if k % 2 == 0 else (36, 24) for k in range(4)}


def _command(*args):
  return [sys.executable, "-m", "sinir_jax.train_many", *FLAGS, "--batch_per_device=1", *args]


def _env(devices=4):
  return dict(os.environ, XLA_FLAGS=os.environ.get("XLA_FLAGS", "") +
              f" --xla_force_host_platform_device_count={devices}")


def _run(*args):
  return subprocess.run(_command(*args), capture_output=True, text=True, timeout=300,
                        env=_env())


@pytest.fixture(scope="module")
def images(tmp_path_factory):
  folder = tmp_path_factory.mktemp("images")
  for seed, (name, (h, w)) in enumerate(sorted(SIZES.items())):
    sj.save_image(folder / "good" / f"{name}.png", smooth_image(h, w, seed=seed))
  (folder / "bad").mkdir()
  (folder / "bad" / "corrupt.png").write_bytes(b"not a png")
  sj.save_image(folder / "bad" / "tiny.png", smooth_image(8, 8))
  return folder


RECON_RTOL = 1e-2
# A single run's workdir, its loaded model, training image and its reconstruction loss.
_Single = collections.namedtuple("_Single", "workdir model image loss")


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _mid_second_scale(workdir):
  """Whether a model of ``workdir`` has finished scale 0 and checkpointed scale 1 mid-way
  (partial checkpoints are numbered by global step, so scale 1's are past scale 0's ``--iters``)."""
  iters = int(next(f for f in FLAGS if f.startswith("--iters=")).split("=")[1])
  for name in os.listdir(workdir) if os.path.isdir(workdir) else []:
    entries = manifest_entries(os.path.join(workdir, name, "checkpoints"))
    if "scales/0" in entries and any(key.startswith("partial/") and int(key[8:]) > iters
                                     for key in entries):
      return True
  return False


def _kill_then_resume_in_two(args, outcome):
  """Runs train_many in one process, SIGKILLs it in the middle of its first chunk's second scale
  (after a mid-scale checkpoint), then finishes the job with two processes of 2 devices joined
  by jax.distributed (as two hosts); records their outputs in ``outcome``."""
  workdir = next(a for a in args if a.startswith("--workdir=")).split("=", 1)[1]
  proc = subprocess.Popen(_command(*args), stdout=subprocess.PIPE, text=True, env=_env())
  deadline = time.time() + 240
  while time.time() < deadline and proc.poll() is None and not _mid_second_scale(workdir):
    time.sleep(0.02)
  proc.send_signal(signal.SIGKILL)
  outcome["killed_code"] = proc.wait()
  outcome["killed"] = proc.stdout.read()
  address = f"--coordinator_address=127.0.0.1:{_free_port()}"
  procs = [subprocess.Popen(_command(*args, address, "--num_processes=2", f"--process_id={index}"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(devices=2))
           for index in range(2)]
  outputs = [p.communicate(timeout=300) for p in procs]
  outcome["processes"] = [subprocess.CompletedProcess(p.args, p.returncode, *output)
                          for p, output in zip(procs, outputs)]


@pytest.fixture(scope="module")
def trained(images, tmp_path_factory):
  """The four good images trained alone (sj.train here) while, at the same time, train_many
  trains them and the two bad ones: one process killed mid-way, then two resuming it.

  Returns ({name: _Single}, {"killed": lines, "killed_code", "processes"}, workdir).
  """
  root = tmp_path_factory.mktemp("trained")
  args = (f"--images={images / 'good'}/*.png", f"--images={images / 'bad'}/*",
          f"--workdir={root / 'many'}", "--checkpoint_every=2", "--log_every=1")
  outcome = {}
  thread = threading.Thread(target=_kill_then_resume_in_two, args=(args, outcome))
  thread.start()
  singles = {}
  for name in SIZES:
    path = images / "good" / f"{name}.png"
    sj.train(str(path), CONFIG, root / "single" / name, report=lambda _: None)
    model, image = sj.load_model(root / "single" / name), sj.load_image(path)
    singles[name] = _Single(root / "single" / name, model, image,
                            reconstruction_loss(model, image))
  thread.join()
  return singles, outcome, root / "many"


def _assert_close_to_single(ours, single, config):
  """A train_many model against the single run, within the module docstring's bounds."""
  assert (ours.sizes, ours.factor) == (single.model.sizes, single.model.factor)
  assert ours.config.replace(**CADENCE) == single.model.config.replace(**CADENCE)
  diff = np.concatenate([np.abs(np.asarray(a) - np.asarray(b)).ravel() for a, b in zip(
      jax.tree.leaves(list(ours.params)), jax.tree.leaves(list(single.model.params)),
      strict=True)])
  assert diff.max() <= 2 * config.lr * config.iters * ours.num_scales
  loss = reconstruction_loss(ours, single.image)
  assert abs(loss - single.loss) <= RECON_RTOL * single.loss, (loss, single.loss)


def test_killed_job_resumed_by_two_processes_matches_single_runs(images, trained):
  singles, outcome, workdir = trained
  killed = outcome["killed"]
  assert outcome["killed_code"] == -signal.SIGKILL, killed
  assert "6 image(s): 2 bucket(s)" in killed
  assert "4 device(s) in 1 process(es) x 1 model(s)" in killed
  first, second = outcome["processes"]
  for result in outcome["processes"]:
    assert result.returncode == 0, result.stderr
  assert "4 device(s) in 2 process(es) x 1 model(s)" in first.stdout
  assert "summary: 4/6 models done" in first.stdout and "models/hour" in first.stdout
  assert "resuming" in first.stdout and " at step 2" in first.stdout
  assert "corrupt: cannot read image" in first.stdout
  assert "tiny: image is 8x8 but min_size is 12" in first.stdout
  # Process 0 reports for the job. (The others' stdout holds the collectives library's
  # "[Gloo] Rank ..." lines, which its threads may interleave.)
  for report_text in ("image(s)", "training ", "scale 1/", "done x", "summary:", "next:"):
    assert report_text not in second.stdout, second.stdout
  for name, single in singles.items():
    _assert_close_to_single(sj.load_model(workdir / name), single, CONFIG)
    assert set(os.listdir(workdir / name)) == set(os.listdir(single.workdir))
  assert not (workdir / "corrupt").exists() and not (workdir / "tiny").exists()
  # A model's folder is a single run's workdir: sj.train finds it finished.
  lines = []
  sj.train(str(images / "good" / "x0.png"), CONFIG, workdir / "x0", report=lines.append)
  assert "all 3 scales already trained" in lines[0]


def test_every_image_failed_exits_1(images, tmp_path):
  result = _run(f"--images={images / 'bad'}/*", f"--workdir={tmp_path}")
  assert result.returncode == 1
  assert "summary: 0/2 models done" in result.stdout and "2 failed" in result.stdout


def test_duplicate_stems_refused_one_line_exit_2(images, tmp_path):
  sj.save_image(tmp_path / "copy" / "x0.png", smooth_image(24, 36))
  result = _run(f"--images={images / 'good'}/*.png", f"--images={tmp_path / 'copy'}/x0.png",
                f"--workdir={tmp_path / 'runs'}")
  assert result.returncode == 2
  assert "share the run folder 'x0'" in result.stderr and "Traceback" not in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr
  assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args, launcher, message", [
    (["--num_processes=2"], {}, "cannot join the other processes (coordinator_address should be"),
    # srun's step of 2 tasks asks to join (here without the rest of SLURM's variables).
    ([], {"SLURM_STEP_NUM_TASKS": "2"}, "cannot join the other processes"),
    (["--num_processes=2", "--process_id=2"], {}, "process_id must be in [0, num_processes), got 2"),
    (["--num_processes=0"], {}, "num_processes must be >= 1, got 0"),
])
def test_bad_process_flags_one_line_exit_2(images, tmp_path, args, launcher, message):
  result = subprocess.run(
      _command(f"--images={images / 'good'}/x0.png", f"--workdir={tmp_path / 'runs'}", *args),
      capture_output=True, text=True, timeout=300, env=dict(_env(), **launcher))
  assert result.returncode == 2
  assert message in result.stderr and "Traceback" not in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr
  assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("changes", [dict(net_ch=16, iters=10, seed=1),
                                     dict(min_size=16, max_size=32, scale_factor=0.8, iters=6)])
def test_other_configs_agree_with_single_runs_and_reruns_are_identical(tmp_path, changes):
  config = TINY.replace(**changes)
  images = {"m": smooth_image(30, 40, seed=20)}  # with a dummy model: a batch of 2
  for run in ("a", "b"):
    summary = sj.train_many(images, config, tmp_path / run, batch_per_device=2, report=quiet)
    assert sorted(summary.trained) == sorted(images)
  for name, image in images.items():
    ours = sj.load_model(tmp_path / "a" / name)
    assert_identical(ours.params, sj.load_model(tmp_path / "b" / name).params)
    model = sj.train(image, config, report=quiet)
    _assert_close_to_single(ours, _Single(None, model, image, reconstruction_loss(model, image)),
                            config)
