"""The SR benchmark (sinir_jax.evaluate, sinir_jax.benchmarks.sr): pairing, outputs, resume,
sweep, plots, errors."""
import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import sinir_jax as sj
from conftest import REPO, SHARED, smooth_image
from sinir_jax.benchmarks.sr import harness
from sinir_jax.benchmarks.sr import methods
from sinir_jax.benchmarks.sr import pairs as pairs_lib
from sinir_jax.benchmarks.sr import report
from sinir_jax.benchmarks.sr import scoring

# HR 176x176 / LR 44x44: the smallest x4 outputs MS-SSIM accepts are 161 px.
TINY_FLAGS = [f"--flagfile={REPO / 'configs' / 'sr.cfg'}", "--net_ch=8", "--iters=3",
              "--log_every=3"]
NAMES = ["img_001_SRF_4", "img_002_SRF_4"]


def _evaluate(*args):
  return subprocess.run([sys.executable, "-m", "sinir_jax.evaluate", *args], capture_output=True,
                        text=True, timeout=300, cwd=REPO)


def _write_pair(hr_dir, lr_dir, hr_name, lr_name, seed, hr_size=(176, 176)):
  hr = smooth_image(*hr_size, seed=seed)
  sj.save_image(hr_dir / hr_name, hr)
  lr = sj.resize(sj.load_image(hr_dir / hr_name)[:176, :176], (44, 44), method="matlab")
  sj.save_image(lr_dir / lr_name, np.asarray(lr))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
  """BSD100-named HR/LR folders of two synthetic images: (hr_dir, lr_dir)."""
  root = tmp_path_factory.mktemp("bsd")
  hr_dir, lr_dir = root / "HR", root / "LR_x4"
  hr_dir.mkdir()
  lr_dir.mkdir()
  for seed, name in enumerate(NAMES):
    _write_pair(hr_dir, lr_dir, f"{name}_HR.png", f"{name}_LR.png", seed)
  return hr_dir, lr_dir


def test_limit_outputs_rerun_resume_and_sweep(tmp_path, data):
  hr_dir, lr_dir = data
  workdir = tmp_path / "eval"
  args = ["sr", f"--hr_dir={hr_dir}", f"--lr_dir={lr_dir}", f"--workdir={workdir}", *TINY_FLAGS]
  first = _evaluate(*args, "--limit=1")
  assert first.returncode == 0, first.stderr
  assert "[1/1] p=0.0005 img_001_SRF_4: done in" in first.stdout and "ETA" in first.stdout
  assert "p=0.0005: training 1 model(s)" in first.stdout
  assert "img_shape 120 is not used" in first.stdout
  tag = workdir / "p0.0005"
  for method in ("bicubic", "p0.0005"):
    with Image.open(workdir / method / NAMES[0] / "sr_x4.png") as im:
      assert im.size == (176, 176)
  assert sj.load_model(tag / "models" / NAMES[0]).num_scales == 2
  assert not (tag / NAMES[1]).exists() and not (tag / "models" / NAMES[1]).exists()
  with open(workdir / "bicubic" / "metrics.csv", newline="") as f:
    rows = list(csv.DictReader(f))
  assert [r["image"] for r in rows] == ["img_001_SRF_4_HR.png"]
  assert set(scoring.METRIC_KEYS) | {"niqe_y_hr"} <= set(rows[0])
  summary = (workdir / "summary.md").read_text()
  assert "| Bicubic (MATLAB) | ours, measured | 1 |" in summary
  assert "| SinIR p=0.0005 | ours, measured | 1 |" in summary
  assert ("| SinIR p=0.0005 (release default) | quoted: SinIR paper, Table 3 | 100 | 0.920 | "
          "0.632 | 16.56 | 3.647 |") in summary
  assert (workdir / "scores.png").exists() and not (workdir / "tradeoff.png").exists()

  second = _evaluate(*args)  # skips the finished image, trains the other
  assert second.returncode == 0, second.stderr
  assert "[1/2] p=0.0005 img_001_SRF_4: skip" in second.stdout
  assert "p=0.0005: training 1 model(s)" in second.stdout
  records = json.loads((tag / "metrics.json").read_text())
  assert [r["name"] for r in records] == NAMES and records[1]["shuffle_p"] == 0.0005
  assert set(scoring.METRIC_KEYS) | {"seconds"} <= set(records[1])
  assert "| SinIR p=0.0005 | ours, measured | 2 |" in (workdir / "summary.md").read_text()

  # A lost output reloads the trained model; a second p sweeps and draws the trade-off.
  (tag / NAMES[0] / "sr_x4.png").unlink()
  third = _evaluate(*args, "--limit=1", "--shuffle_p=0.0005,0.005",
                    "--sinir_back_projection_iters=0,2")
  assert third.returncode == 0, third.stderr
  # The back-projected variant shares the model and is scored as its own method.
  assert (workdir / "p0.0005_bp2" / NAMES[0] / "sr_x4.png").exists()
  assert not (workdir / "p0.0005_bp2" / "models").exists()
  bp = json.loads((workdir / "p0.0005_bp2" / "metrics.json").read_text())[0]
  plain = json.loads((tag / "metrics.json").read_text())[0]
  assert bp["rmse_rgb"] != plain["rmse_rgb"]
  assert f"{NAMES[0]}: all 2 scales already trained" in third.stdout
  assert "[1/1] p=0.005 img_001_SRF_4: done in" in third.stdout
  assert (tag / NAMES[0] / "sr_x4.png").exists()
  assert (workdir / "p0.005" / NAMES[0] / "sr_x4.png").exists()
  assert "| SinIR p=0.005 | ours, measured | 1 |" in (workdir / "summary.md").read_text()
  with Image.open(workdir / "tradeoff.png") as im:
    assert im.size == (640, 480)
  # The plotted points are the tables' means: bicubic as the reference, one point per p.
  records = {key: json.loads((workdir / key / "metrics.json").read_text())
             for key in ("bicubic", "p0.0005", "p0.005")}
  rows, count = report.mean_rows([({"key": k, "label": k}, [r for r in v if r["name"] == NAMES[0]])
                                  for k, v in records.items()])
  assert count == 1
  figure = report.tradeoff_figure(rows, "")
  reference, others = figure.axes[0].collections
  np.testing.assert_allclose(reference.get_offsets(),
                             [[records["bicubic"][0]["rmse_rgb"], records["bicubic"][0]["niqe_y"]]])
  np.testing.assert_allclose(sorted(map(tuple, others.get_offsets())), sorted(
      (records[k][0]["rmse_rgb"], records[k][0]["niqe_y"]) for k in ("p0.0005", "p0.005")))


def test_an_untrainable_image_is_reported_and_the_others_go_on(tmp_path, data):
  hr_dir, lr_dir = data
  workdir = tmp_path / "eval"
  (workdir / "p0.0005" / "models").mkdir(parents=True)
  (workdir / "p0.0005" / "models" / NAMES[1]).write_text("not a run folder")
  result = _evaluate("sr", f"--hr_dir={hr_dir}", f"--lr_dir={lr_dir}", f"--workdir={workdir}",
                     *TINY_FLAGS)
  assert result.returncode == 1
  assert f"[2/2] p=0.0005 {NAMES[1]}: failed:" in result.stdout
  assert f"p0.0005 {NAMES[1]}:" in result.stderr and "Traceback" not in result.stderr
  records = json.loads((workdir / "p0.0005" / "metrics.json").read_text())
  assert [r["name"] for r in records] == NAMES[:1]
  assert "| SinIR p=0.0005 | ours, measured | 1 |" in (workdir / "summary.md").read_text()


@pytest.mark.parametrize("case, message", [
    ("unknown_benchmark", "name one benchmark"),
    ("missing_dir", "is not a folder"),
    ("bad_p_list", "bad --shuffle_p"),
    ("zero_limit", "limit"),
    ("bad_bp_iters", "--sinir_back_projection_iters must be"),
])
def test_bad_input_one_line_exit_2(tmp_path, data, case, message):
  hr_dir, lr_dir = data
  benchmark = ["deblur"] if case == "unknown_benchmark" else ["sr"]
  args = {  # later flags win
      "missing_dir": [f"--hr_dir={tmp_path / 'nope'}"],
      "bad_p_list": ["--shuffle_p=0.005,abc"],
      "zero_limit": ["--limit=0"],
      "bad_bp_iters": ["--sinir_back_projection_iters=0,-2"],
  }.get(case, [])
  result = _evaluate(*benchmark, f"--hr_dir={hr_dir}", f"--lr_dir={lr_dir}",
                     f"--workdir={tmp_path / 'eval'}", *TINY_FLAGS, *args)
  assert result.returncode == 2, result.stderr
  assert message in result.stderr and "Traceback" not in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr
  assert not (tmp_path / "eval").exists()


@pytest.mark.parametrize("case, message", [
    ("no_pairs", "no HR/LR pairs"),
    ("not_x4", "must be 4x the LR"),
    ("too_small", "MS-SSIM needs"),
    ("same_name", "both name image"),
    ("not_sr_task", "SR recipe"),
])
def test_bad_pairs_and_task(tmp_path, case, message):
  hr_dir, lr_dir = tmp_path / "hr", tmp_path / "lr"
  hr_dir.mkdir()
  lr_dir.mkdir()
  if case == "no_pairs":
    _write_pair(hr_dir, lr_dir, "cat_HR.png", "dog_LR.png", 0)
  elif case == "not_x4":
    _write_pair(hr_dir, lr_dir, "a_HR.png", "a_LR.png", 0, hr_size=(180, 176))
  elif case == "too_small":
    sj.save_image(hr_dir / "a_HR.png", smooth_image(120, 160))
    sj.save_image(lr_dir / "a_LR.png", smooth_image(30, 40))
  else:
    _write_pair(hr_dir, lr_dir, "a_HR.png", "a_LR.png", 0)
    if case == "same_name":
      sj.save_image(lr_dir / "a.png", smooth_image(44, 44))
  config = sj.Config(task="generic" if case == "not_sr_task" else "sr", num_scales=2,
                     interp="matlab")
  with pytest.raises(sj.InputError, match=message):
    harness.run_benchmark(hr_dir, lr_dir, tmp_path / "eval",
                          harness.sinir_methods(config, (0.0005,)), report=lambda line: None)
  assert not (tmp_path / "eval").exists()


def test_pairing_conventions_and_modcrop(tmp_path):
  hr_dir, lr_dir = tmp_path / "hr", tmp_path / "lr"
  hr_dir.mkdir()
  lr_dir.mkdir()
  _write_pair(hr_dir, lr_dir, "0001.png", "0001x4.png", 0)  # DIV2K
  _write_pair(hr_dir, lr_dir, "baby-HR.png", "baby-lr.png", 1)  # Set5-like, any case
  _write_pair(hr_dir, lr_dir, "anchor.png", "anchor.png", 2, hr_size=(179, 177))  # modcrop
  sj.save_image(hr_dir / "lonely_HR.png", smooth_image(176, 176))
  (lr_dir / "notes.txt").write_text("not an image")
  notes = []
  pairs = pairs_lib.find_pairs(hr_dir, lr_dir, report=notes.append)
  assert [p.name for p in pairs] == ["0001", "anchor", "baby"]
  assert pairs[0].lr.endswith("0001x4.png") and pairs[0].lr_size == (44, 44)
  assert notes == ["note: 1 image(s) without a partner are left out"]
  first = pairs_lib.find_pairs(hr_dir, lr_dir, limit=1, report=notes.append)
  assert [p.name for p in first] == ["0001"]
  lr, hr = pairs_lib.load_pair(pairs[1])
  assert lr.shape == (44, 44, 3) and hr.shape == (176, 176, 3) and hr.dtype == np.uint8


def test_parse_shuffle_ps_and_tags():
  assert harness.parse_shuffle_ps("0.005, 0.0005") == (0.005, 0.0005)
  assert harness.parse_shuffle_ps("0") == (0.0,)
  for bad in ("", "0.1,,0.2", "x", "-0.1", "nan", "0.1,0.1"):
    with pytest.raises(sj.InputError):
      harness.parse_shuffle_ps(bad)
  tags = [methods.shuffle_key(p) for p in (0.005, 0.0005, 0.000005, 5e-7, 0.0)]
  assert tags == ["p0.005", "p0.0005", "p5e-06", "p5e-07", "p0.0"]


def test_bicubic_matches_golden_on_bsd100_dev():
  hr_dir, lr_dir = SHARED / "data" / "bsd100_dev" / "HR", SHARED / "data" / "bsd100_dev" / "LR_x4"
  if not hr_dir.is_dir():
    pytest.skip(f"shared BSD100 dev data not found under {SHARED} (set SINIR_SHARED)")
  golden = json.loads((REPO / "tests" / "golden" / "bicubic_bsd100_dev.json").read_text())
  pair = pairs_lib.find_pairs(hr_dir, lr_dir, limit=1, report=lambda line: None)[0]
  assert pair.name == "img_001_SRF_4"
  lr, hr = pairs_lib.load_pair(pair)
  scores = scoring.score(scoring.bicubic_x4(lr), hr)
  expected = next(r for r in golden if r["image"] == "img_001_SRF_4_HR.png")
  for key in scoring.METRIC_KEYS:
    assert scores[key] == pytest.approx(expected[key], abs=1e-2 if key == "niqe_y" else 1e-3)


def test_config_check_of_a_results_folder(tmp_path):
  config = sj.Config(task="sr", num_scales=2, interp="matlab")
  folder = tmp_path / "p0.0005"
  harness._claim(folder, methods.SinIR(config))  # pylint: disable=protected-access
  stored = json.loads((folder / "config.json").read_text())
  del stored["seed"]  # as if written before Config had the field: its default is assumed
  (folder / "config.json").write_text(json.dumps(stored))
  harness._claim(folder, methods.SinIR(config.replace(log_every=7)))  # pylint: disable=protected-access
  with pytest.raises(sj.InputError, match=r"another config \(iters\)"):
    harness._claim(folder, methods.SinIR(config.replace(iters=7)))  # pylint: disable=protected-access
