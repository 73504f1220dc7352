"""Run folders that are damaged, crafted or on a full disk: one line, never a wrong model, and a
rerun that ends as an uninterrupted run does."""
import errno
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import sinir_jax as sj
from sinir_jax.core import files
from conftest import GOLDEN, TINY, assert_identical, quiet, smooth_image

CONFIG = TINY.replace(iters=4, log_every=2, checkpoint_every=2)
IMAGE = smooth_image(30, 40)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  """An uninterrupted run's folder and model."""
  workdir = tmp_path_factory.mktemp("reference") / "run"
  model = sj.train(IMAGE, CONFIG, workdir, report=quiet)
  assert model.num_scales == 4
  return workdir, model


def _copy(reference, tmp_path):
  target = tmp_path / "run"
  shutil.copytree(reference[0], target)
  return target


def _scale_dir(workdir, scale):
  return workdir / "checkpoints" / "scales" / str(scale)


def _largest_file(folder):
  return max((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)


def _damage(workdir, how):
  """Damages scale 2 (or the folder) of ``workdir``; returns the first scale now unusable."""
  scale2 = _scale_dir(workdir, 2)
  if how == "truncate_data":
    data = _largest_file(scale2 / "state")
    data.write_bytes(data.read_bytes()[:data.stat().st_size // 2])
  elif how == "corrupt_data":
    data = _largest_file(scale2 / "state")
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
  elif how == "delete_data":
    _largest_file(scale2 / "state").unlink()
  elif how == "delete_orbax_metadata":
    (scale2 / "_CHECKPOINT_METADATA").unlink()
  elif how == "delete_meta_item":
    (scale2 / "meta" / "metadata").unlink()
  elif how == "delete_ocdbt_manifest":
    (scale2 / "state" / "manifest.ocdbt").unlink()
  elif how == "remove_middle_scale":
    shutil.rmtree(_scale_dir(workdir, 1))
    return 1
  elif how == "save_not_finished":  # killed between the save and its manifest entry
    path = workdir / "checkpoints" / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["entries"]["scales/3"]
    path.write_text(json.dumps(manifest))
    return 3
  elif how == "manifest_deleted":
    (workdir / "checkpoints" / "manifest.json").unlink()
    return 0
  elif how == "manifest_garbage":
    (workdir / "checkpoints" / "manifest.json").write_text("{not json")
    return 0
  return 2


DAMAGES = ["truncate_data", "corrupt_data", "delete_data", "delete_orbax_metadata",
           "delete_meta_item", "delete_ocdbt_manifest", "remove_middle_scale",
           "save_not_finished", "manifest_deleted", "manifest_garbage"]


@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_folder_is_refused_then_retrained_identically(reference, tmp_path, how):
  workdir = _copy(reference, tmp_path)
  first_bad = _damage(workdir, how)
  with pytest.raises(sj.InputError) as err:
    sj.load_model(workdir)
  message = str(err.value)
  assert "\n" not in message and str(workdir) in message
  assert f"scale {first_bad}" in message and "rerun the training" in message
  lines = []
  model = sj.train(IMAGE, CONFIG, workdir, report=lines.append)
  assert any(line.startswith(f"note: the checkpoint of scale {first_bad} ") and
             f"retraining from scale {first_bad}" in line for line in lines), lines
  assert_identical(reference[1].params, model.params)
  assert_identical(reference[1].params, sj.load_model(workdir).params)


def test_damaged_partial_checkpoint_is_dropped_and_the_scale_redone(reference, tmp_path):
  workdir = tmp_path / "run"

  def stop_mid_scale_1(event):
    if event.kind == "step" and event.scale == 1 and event.step == 4:
      raise KeyboardInterrupt

  with pytest.raises(KeyboardInterrupt):
    sj.train(IMAGE, CONFIG.replace(log_every=1), workdir, report=quiet,
             on_event=stop_mid_scale_1)
  partial = workdir / "checkpoints" / "partial"
  (step,) = [p for p in partial.iterdir() if p.name.isdigit()]
  data = _largest_file(step / "state")
  data.write_bytes(data.read_bytes()[:10])
  lines = []
  model = sj.train(IMAGE, CONFIG, workdir, report=lines.append)
  assert any("mid-scale checkpoint" in line and "starting scale 1 over" in line for line in lines)
  assert_identical(reference[1].params, model.params)


def test_infer_on_a_damaged_folder_one_line_exit_2(reference, tmp_path):
  workdir = _copy(reference, tmp_path)
  _damage(workdir, "corrupt_data")
  sj.save_image(tmp_path / "in.png", IMAGE)
  result = subprocess.run([sys.executable, "-m", "sinir_jax.infer", f"--workdir={workdir}",
                           f"--input={tmp_path / 'in.png'}"], capture_output=True, text=True,
                          timeout=120)
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr
  assert "scale 2" in result.stderr and "damaged" in result.stderr
  assert not (workdir / "infer").exists()


def test_version_1_folder_still_loads_and_resumes(tmp_path):
  # Written by sinir_jax 0.1 (no manifest): net_ch 4, 2 steps a scale.
  workdir = tmp_path / "v1"
  shutil.copytree(GOLDEN / "v1_run", workdir)
  model = sj.load_model(workdir)
  # The tests compile with fewer optimisations (conftest), which round differently.
  np.testing.assert_allclose(np.asarray(model.manipulate(IMAGE, 0)),
                             np.load(GOLDEN / "v1_run_recon.npy"), atol=1e-4)
  config = TINY.replace(net_ch=4, iters=2, log_every=2)
  lines = []
  again = sj.train(IMAGE, config, workdir, report=lines.append)
  assert "all 4 scales already trained" in lines[0]
  assert_identical(model.params, again.params)


@pytest.mark.parametrize("damage", ["invalid_json", "missing_keys", "not_an_object"])
def test_damaged_config_json_one_line(reference, tmp_path, damage):
  workdir = _copy(reference, tmp_path)
  text = {"invalid_json": "{", "missing_keys": json.dumps({"config": {}}),
          "not_an_object": "[1, 2]"}[damage]
  (workdir / "config.json").write_text(text)
  with pytest.raises(sj.InputError, match="--overwrite") as err:
    sj.train(IMAGE, CONFIG, workdir, report=quiet)
  assert "\n" not in str(err.value) and "config.json" in str(err.value)
  assert (workdir / "config.json").read_text() == text  # refused: nothing rewritten


def _snapshot(folder):
  return {str(p.relative_to(folder)): (p.is_symlink(), p.read_bytes() if p.is_file() and not
                                       p.is_symlink() else None)
          for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("case", ["other_config", "other_image", "foreign_files"])
def test_refused_folder_is_left_byte_identical(reference, tmp_path, case):
  if case == "foreign_files":
    workdir = tmp_path / "mine"
    (workdir / "notes").mkdir(parents=True)
    (workdir / "notes" / "a.txt").write_text("mine")
  else:
    workdir = _copy(reference, tmp_path)
    (workdir / ".lock").unlink()
  before = _snapshot(workdir)
  config = CONFIG.replace(seed=3) if case == "other_config" else CONFIG
  image = IMAGE[::-1] if case == "other_image" else IMAGE
  with pytest.raises(sj.InputError, match="another|holds no sinir_jax run"):
    sj.train(image, config, workdir, report=quiet)
  assert _snapshot(workdir) == before
  assert not (workdir / ".lock").exists()


@pytest.mark.parametrize("link", [".lock", "metrics.jsonl", "previews", "checkpoints"])
def test_symlinks_in_a_run_folder_are_refused_and_nothing_outside_changes(reference, tmp_path,
                                                                           link):
  workdir = _copy(reference, tmp_path)
  outside = tmp_path / "outside"
  outside.mkdir()
  (outside / "victim.txt").write_text("keep me")
  target = workdir / link
  if target.is_dir():
    shutil.rmtree(target)
  elif target.exists():
    target.unlink()
  target.symlink_to(outside / "victim.txt" if link in (".lock", "metrics.jsonl") else outside)
  with pytest.raises(sj.InputError, match="symbolic link") as err:
    sj.train(IMAGE, CONFIG, workdir, report=quiet)
  assert "\n" not in str(err.value)
  assert [p.name for p in outside.iterdir()] == ["victim.txt"]
  assert (outside / "victim.txt").read_text() == "keep me"


def test_train_many_names_stay_inside_the_workdir(tmp_path):
  for name in ("../x", "a/b", "..", ""):
    with pytest.raises(sj.InputError, match="cannot name a run folder"):
      sj.train_many({name: IMAGE}, CONFIG, tmp_path / "many", report=quiet)
  assert not (tmp_path / "x").exists() and not (tmp_path / "many").exists()


def _full_disk_after(monkeypatch, allowed_writes):
  """Our own writes (files.write_atomic, append_line) fail with ENOSPC after ``allowed_writes``."""
  calls = []
  real = os.write

  def write(fd, data):
    calls.append(len(data))
    if len(calls) > allowed_writes:
      raise OSError(errno.ENOSPC, "No space left on device")
    return real(fd, data)

  monkeypatch.setattr(files.os, "write", write)


@pytest.mark.parametrize("allowed_writes", [0, 3, 12])
def test_full_disk_is_one_line_and_a_rerun_resumes_identically(reference, tmp_path, monkeypatch,
                                                                allowed_writes):
  workdir = tmp_path / "run"
  with monkeypatch.context() as patch:
    _full_disk_after(patch, allowed_writes)
    with pytest.raises(sj.DiskFullError) as err:
      sj.train(IMAGE, CONFIG, workdir, report=quiet)
  message = str(err.value)
  assert "\n" not in message and "no space left" in message and "bytes" in message
  model = sj.train(IMAGE, CONFIG, workdir, report=quiet)
  assert_identical(reference[1].params, model.params)


def test_full_disk_in_a_checkpoint_save(reference, tmp_path, monkeypatch):
  import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
  workdir, saves, real = tmp_path / "run", [], ocp.CheckpointManager.save

  def save(self, *args, **kwargs):
    saves.append(1)
    if len(saves) == 4:  # tensorstore reports ENOSPC as an error carrying the OS text
      raise ValueError("Error writing local file: No space left on device [OS error: 28]")
    return real(self, *args, **kwargs)

  with monkeypatch.context() as patch:
    patch.setattr(ocp.CheckpointManager, "save", save)
    with pytest.raises(sj.DiskFullError, match="checkpoints"):
      sj.train(IMAGE, CONFIG, workdir, report=quiet)
  assert sj.load_model(workdir).num_scales >= 1  # what was saved before stays loadable
  assert_identical(reference[1].params, sj.train(IMAGE, CONFIG, workdir, report=quiet).params)


def _tmpfs(path, size):
  path.mkdir()
  result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, check=False)
  if result.returncode:
    pytest.skip("cannot mount a tmpfs here (needs root): the os.write stubs above still run")


def test_full_tmpfs_end_to_end(tmp_path):
  """A real full disk: the CLI says so in one line; once space is freed the same command
  resumes and ends with the uninterrupted run's params."""
  disk = tmp_path / "disk"
  _tmpfs(disk, "600k")
  try:
    filler = disk / "filler"
    filler.write_bytes(b"\0" * (600 * 1024 - 200 * 1024))  # ~200 KB left: a scale or two
    sj.save_image(tmp_path / "image.png", IMAGE)
    command = [sys.executable, "-m", "sinir_jax.train", f"--image={tmp_path / 'image.png'}",
               f"--workdir={disk / 'run'}", *CONFIG.to_flags()]
    full = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert full.returncode == 2, full.stderr
    assert "no space left on the disk" in full.stderr and "Traceback" not in full.stderr
    assert len(full.stderr.strip().splitlines()) == 1, full.stderr
    filler.unlink()
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    uninterrupted = sj.train(sj.load_image(tmp_path / "image.png"), CONFIG, report=quiet)
    assert_identical(uninterrupted.params, sj.load_model(disk / "run").params)
  finally:
    subprocess.run(["umount", str(disk)], check=False)


def test_failed_manipulation_leaves_no_output(reference, tmp_path, monkeypatch):
  from sinir_jax.sinir import manipulate  # pylint: disable=import-outside-toplevel
  sj.save_image(tmp_path / "in.png", IMAGE)
  request = manipulate.Request(str(tmp_path / "in.png"))
  output_dir = tmp_path / "model" / "infer" / "in"
  with monkeypatch.context() as patch:
    _full_disk_after(patch, 2)  # the third image of the folder finds the disk full
    with pytest.raises(sj.DiskFullError):
      manipulate.write_manipulations(reference[1], request, output_dir, report=quiet)
  assert not (tmp_path / "model").exists()
  assert len(manipulate.write_manipulations(reference[1], request, output_dir,
                                            report=quiet)) == 2 + reference[1].num_scales
