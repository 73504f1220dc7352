"""python -m sinir_jax.double_dip end to end (a tiny run of each task: the fixed file names; a
seed fixes the result) and bad inputs: one stderr line, exit code 2, nothing written. All
cases run in one process, so each task's step program is compiled once."""
import json
import os

import pytest

import sinir_jax as sj
from conftest import REPO, cli_battery
from sinir_jax.dip.double import outputs
from sinir_jax.dip.double import synthetic
from tiny_double import box, layers, tiny_flags, trimap

TASK_FILES = {task: set(names) | {"grid.png", "loss.png", "result.json"}
              for task, names in outputs.NAMES.items()}


@pytest.fixture(scope="module")
def battery(tmp_path_factory):
  d = tmp_path_factory.mktemp("double_cli")
  a, b = layers()
  mix1, mix2 = synthetic.mixtures(a, b)
  pictures = {"image": a, "mix1": mix1, "mix2": mix2, "small": a[:-2], "grey": 0 * a,
              "trimap": trimap()[..., None] * 2 - 1, "box": box()[..., None] * 2 - 1,
              "small_box": box()[:-1, ..., None] * 2 - 1}
  paths = {name: str(d / f"{name}.png") for name in pictures}
  for name, picture in pictures.items():
    sj.save_image(paths[name], picture)
  (d / "full").mkdir()
  (d / "full" / "keep.txt").write_text("someone's file")
  tiny = tiny_flags()
  out = lambda name: f"--output_dir={d / name}"
  cases = {
      "help": ["--help"],
      "segment": ["--task=segment", f"--image={paths['image']}", f"--hint={paths['trimap']}",
                  out("segment"), *tiny],
      "separate": ["--task=separate", f"--image={paths['mix1']}", f"--image2={paths['mix2']}",
                   out("separate"), *tiny],
      "separate_again": ["--task=separate", f"--image={paths['mix1']}",
                         f"--image2={paths['mix2']}", out("separate_again"), *tiny],
      "separate_seed1": ["--task=separate", f"--image={paths['mix1']}",
                         f"--image2={paths['mix2']}", out("separate_seed1"), *tiny, "--seed=1"],
      "separate_no_exclusion": ["--task=separate", f"--image={paths['mix1']}",
                                f"--image2={paths['mix2']}", out("separate_no_exclusion"), *tiny,
                                "--exclusion_weight=0"],
      "separate_single": ["--task=separate_single", f"--image={paths['mix1']}",
                          out("separate_single"), *tiny],
      "dehaze": ["--task=dehaze", f"--image={paths['image']}", out("dehaze"), *tiny],
      "dehaze_official": ["--task=dehaze", f"--image={paths['image']}", out("dehaze_official"),
                          *tiny, "--dehaze_passes=2"],
      "dehaze_strength1": ["--task=dehaze", f"--image={paths['image']}",
                           out("dehaze_strength1"), *tiny, "--dehaze_strength=1"],
      "watermark": ["--task=watermark", f"--image={paths['image']}", f"--hint={paths['box']}",
                    out("watermark"), *tiny],
      "no_task": [f"--image={paths['image']}", out("bad")],
      "no_image": ["--task=dehaze", out("bad")],
      "missing_image": ["--task=dehaze", f"--image={d / 'nope.png'}", out("bad")],
      "no_output_dir": ["--task=dehaze", f"--image={paths['image']}"],
      "no_image2": ["--task=separate", f"--image={paths['mix1']}", out("bad")],
      "mixture_sizes": ["--task=separate", f"--image={paths['mix1']}",
                        f"--image2={paths['small']}", out("bad"), *tiny],
      "no_hint": ["--task=segment", f"--image={paths['image']}", out("bad")],
      "hint_size": ["--task=watermark", f"--image={paths['image']}",
                    f"--hint={paths['small_box']}", out("bad")],
      "empty_trimap": ["--task=segment", f"--image={paths['image']}", f"--hint={paths['grey']}",
                       out("bad"), *tiny],
      "hint_for_dehaze": ["--task=dehaze", f"--image={paths['image']}", f"--hint={paths['box']}",
                          out("bad")],
      "bad_airlight": ["--task=dehaze", f"--image={paths['image']}", "--airlight=2,0", out("bad")],
      "full_output_dir": ["--task=dehaze", f"--image={paths['image']}", out("full")],
      "bad_channels": ["--task=dehaze", f"--image={paths['image']}", out("bad"),
                       "--net_down=4,x"],
      "bad_passes": ["--task=dehaze", f"--image={paths['image']}", "--dehaze_passes=3",
                     out("bad")],
      "bad_strength": ["--task=dehaze", f"--image={paths['image']}", "--dehaze_strength=0",
                       out("bad")],
      "bad_exclusion": ["--task=separate", f"--image={paths['mix1']}",
                        f"--image2={paths['mix2']}", "--exclusion_weight=-1", out("bad")],
      "cpu": ["--task=dehaze", "--flagfile=configs/double_dip_cpu.cfg", "--iters=0", out("bad")],
  }
  return d, cli_battery("double_dip", cases, cwd=REPO)


def test_help_lists_the_flags(battery):
  _, outcomes = battery
  code, out, _ = outcomes["help"]
  assert code == 0
  for flag in ("--task", "--image", "--image2", "--hint", "--output_dir", "--overwrite",
               "--preset", "--iters2"):
    assert flag in out


@pytest.mark.parametrize("task", sorted(TASK_FILES))
def test_each_task_writes_its_fixed_files(battery, task):
  d, outcomes = battery
  code, out, err = outcomes[task]
  assert code == 0, err
  assert "step 4/4" in out  # progress lines
  assert TASK_FILES[task] <= set(os.listdir(d / task))
  for name in outputs.NAMES[task]:
    picture = sj.load_image(d / task / name)
    assert picture.shape[:2] == (16, 20)
  numbers = json.loads((d / task / "result.json").read_text())
  expected = {"segment": {"psnr"}, "separate": {"alphas", "psnr"}, "dehaze": {"airlight"},
              "watermark": set(), "separate_single": {"psnr"}}[task]
  assert expected <= set(numbers)
  if task == "separate":
    assert all(0.05 <= a <= 0.95 for a in numbers["alphas"])


def test_a_seed_fixes_the_result(battery):
  d, outcomes = battery
  assert all(outcomes[name][0] == 0 for name in ("separate_again", "separate_seed1"))
  for name in outputs.NAMES["separate"]:
    again = (d / "separate_again" / name).read_bytes()
    assert (d / "separate" / name).read_bytes() == again
    assert (d / "separate_seed1" / name).read_bytes() != again


def test_the_exclusion_weight_changes_the_separation(battery):
  d, outcomes = battery
  assert outcomes["separate_no_exclusion"][0] == 0
  assert any((d / "separate" / name).read_bytes()
             != (d / "separate_no_exclusion" / name).read_bytes()
             for name in outputs.NAMES["separate"])


def test_dehaze_strength_keeps_that_share_of_the_haze(battery):
  # The same seed gives the same fit; only t -> 1 - s (1 - t) differs (PNGs: 8-bit).
  d, outcomes = battery
  assert outcomes["dehaze_strength1"][0] == 0
  full, default = ((sj.load_image(d / name / "transmission.png")[..., 0] + 1) / 2
                   for name in ("dehaze_strength1", "dehaze"))
  assert abs(default - (1 - 0.8 * (1 - full))).max() <= 2 / 255
  assert abs(default - full).max() > 0.02


def test_dehaze_runs_the_second_pass_only_when_asked(battery):
  d, outcomes = battery
  (_, one, _), (code, two, err) = outcomes["dehaze"], outcomes["dehaze_official"]
  assert code == 0, err
  assert "pass 1" in one and "pass 2" not in one and "pass 2" in two
  assert "dehazed_pass1.png" not in os.listdir(d / "dehaze")
  assert "dehazed_pass1.png" in os.listdir(d / "dehaze_official")


@pytest.mark.parametrize("case, words", [
    ("no_task", "pass --task"), ("no_image", "pass --image"), ("missing_image", "no such file"),
    ("no_output_dir", "pass --output_dir"), ("no_image2", "needs --image2"),
    ("mixture_sizes", "mixtures differ in size"), ("no_hint", "needs --hint"),
    ("hint_size", "--hint is 15x20 but --image is 16x20"), ("empty_trimap", "both foreground"),
    ("hint_for_dehaze", "drop it"), ("bad_airlight", "--airlight must be"),
    ("full_output_dir", "is not empty"), ("bad_channels", "--net_down"),
    ("cpu", "--iters must be >= 1"), ("bad_passes", "--dehaze_passes must be 1 or 2"),
    ("bad_strength", "--dehaze_strength must be in (0, 1]"),
    ("bad_exclusion", "--exclusion_weight must be >= 0"),
])
def test_bad_inputs_are_one_line_and_exit_2(battery, case, words):
  d, outcomes = battery
  code, _, err = outcomes[case]
  assert code == 2, err
  assert err.startswith("error:") and err.strip().count("\n") == 0 and words in err, err
  assert not (d / "bad").exists()
  assert os.listdir(d / "full") == ["keep.txt"]
