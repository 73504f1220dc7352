"""python -m sinir_jax.evaluate denoise: seeded noisy crops, DIP's PSNRs, resume, bad inputs."""
import json

import numpy as np
import pytest

import sinir_jax as sj
from conftest import cli_battery, smooth_image
from sinir_jax.benchmarks import denoise
from sinir_jax.dip import measure
from tiny_dip import tiny_flags

DIP_FLAGS = ["--dip_" + flag[2:] for flag in tiny_flags()
             if not flag.startswith("--sr_factor")]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
  root = tmp_path_factory.mktemp("denoise")
  clean_dir = root / "clean"
  for i, size in enumerate([(18, 20), (16, 17), (30, 30)]):
    sj.save_image(clean_dir / f"im{i}.png", smooth_image(*size, seed=i))
  (clean_dir / "notes.txt").write_text("not an image")
  base = ["denoise", f"--hr_dir={clean_dir}", "--crop_size=13", *DIP_FLAGS]
  work = root / "work"
  cases = {
      "first": [*base, f"--workdir={work}", "--limit=1"],
      "second": [*base, f"--workdir={work}", "--limit=2"],
      "other_sigma": [*base, f"--workdir={work}", "--sigma=10"],
      "no_workdir": [*base],
      "missing_dir": [*base, f"--workdir={root / 'w1'}", f"--hr_dir={root / 'none'}"],
      "crop_too_big": [*base, f"--workdir={root / 'w2'}", "--crop_size=17"],
      "zero_sigma": [*base, f"--workdir={root / 'w3'}", "--sigma=0"],
  }
  return root, work, cli_battery("evaluate", cases)


def test_crops_noise_psnrs_and_resume(outcomes):
  _, work, runs = outcomes
  for name in ("first", "second"):
    assert runs[name][0] == 0, runs[name][2]
  assert "[1/1] im0: done in" in runs["first"][1]
  assert "[1/2] im0: skip (done: im0: noisy" in runs["second"][1]
  assert "[2/2] im1: done in" in runs["second"][1]
  rows = json.loads((work / "rows.json").read_text())
  assert [r["name"] for r in rows] == ["im0", "im1"]
  for i, row in enumerate(rows):
    folder = work / row["name"]
    clean, noisy = (sj.load_image(folder / f"{k}.png") for k in ("clean", "noisy"))
    # The centre crop of the source, and its noise exactly as seeded (rounded to 8 bits).
    source = smooth_image(*[(18, 20), (16, 17)][i], seed=i)
    top, left = (source.shape[0] - 13) // 2, (source.shape[1] - 13) // 2
    np.testing.assert_allclose(clean, source[top:top + 13, left:left + 13], atol=1 / 127.5)
    np.testing.assert_allclose(noisy, denoise.noisy_version(clean, 25, i), atol=1e-6)
    assert row["noisy"] == pytest.approx(measure.psnr(noisy, clean), abs=1e-4)
    final = sj.load_image(folder / "run" / "final.png")
    assert row["final"] == pytest.approx(measure.psnr(final, clean), abs=0.05)
    assert row["best"] >= row["final"] - 1e-3 and row["steps"] == 12
  summary = (work / "summary.md").read_text()
  mean_noisy = np.mean([r["noisy"] for r in rows])
  assert f"| noisy input | {mean_noisy:.2f} | – |" in summary
  assert "| im1 | 12 |" in summary


@pytest.mark.parametrize("name, message", [
    ("other_sigma", "holds results of another config"),
    ("no_workdir", "pass --workdir"),
    ("missing_dir", "is not a folder"),
    ("crop_too_big", "smaller than --crop_size=17"),
    ("zero_sigma", "--sigma must be > 0"),
])
def test_bad_inputs_one_line_exit_2(outcomes, name, message):
  root, _, runs = outcomes
  code, _, stderr = runs[name]
  assert code == 2 and message in stderr, stderr
  assert len(stderr.strip().splitlines()) == 1, stderr
  for folder in ("w1", "w2", "w3"):
    assert not (root / folder).exists()
