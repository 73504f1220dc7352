"""python -m sinir_jax.dip end to end (tiny runs of each task) and every bad input: one stderr
line and exit code 2, before any work. All cases run in one process (``cli_battery``)."""
import json

import numpy as np
import pytest

import sinir_jax as sj
from sinir_jax.dip import measure
from conftest import REPO, cli_battery, smooth_image
from tiny_dip import TINY, clean, hole_mask, noisy, tiny_flags

OFFICIAL = {"denoise": ["--task=denoise"], "sr_x4": ["--task=sr"],
            "sr_x8": ["--task=sr", "--sr_factor=8"], "inpaint": ["--task=inpaint"]}


@pytest.fixture(scope="module")
def battery(tmp_path_factory):
  d = tmp_path_factory.mktemp("dip_cli")
  paths = {name: str(d / f"{name}.png") for name in
           ("noisy", "clean", "mask", "lr", "hr", "black", "small", "existing")}
  sj.save_image(paths["noisy"], noisy())
  sj.save_image(paths["clean"], clean())
  sj.save_image(paths["mask"], hole_mask() * 2 - 1)
  hr = smooth_image(16, 12, seed=2)
  sj.save_image(paths["hr"], hr)
  sj.save_image(paths["lr"], hr[1::4, 1::4])
  sj.save_image(paths["black"], -np.ones((15, 13, 1), np.float32))
  sj.save_image(paths["small"], np.zeros((10, 10, 3), np.float32))
  sj.save_image(paths["existing"], np.zeros((4, 4, 3), np.float32))
  (d / "text.png").write_text("not an image")
  out = d / "out"
  tiny = tiny_flags()
  den = ["--task=denoise", f"--image={paths['noisy']}", f"--output={out / 'den.png'}"]
  inp = ["--task=inpaint", f"--image={paths['clean']}", f"--mask={paths['mask']}"]
  cases = {
      "help": ["--help"],
      "no_task": [f"--image={paths['noisy']}", "--output=o.png"],
      "no_image": ["--task=denoise", "--output=o.png"],
      "missing_image": ["--task=denoise", f"--image={d / 'nope.png'}", "--output=o.png"],
      "unreadable_image": ["--task=denoise", f"--image={d / 'text.png'}", "--output=o.png"],
      "no_output": ["--task=denoise", f"--image={paths['noisy']}"],
      "bad_extension": den[:2] + [f"--output={d / 'o.txt'}"],
      "output_exists": den[:2] + [f"--output={paths['existing']}"],
      "mask_size": inp + [f"--mask={paths['small']}", "--output=o.png"],
      "mask_unknown": inp + [f"--mask={paths['black']}", "--output=o.png"],
      "mask_denoise": den + [f"--mask={paths['mask']}"],
      "inpaint_no_mask": ["--task=inpaint", f"--image={paths['clean']}", "--output=o.png"],
      "unreadable_mask": inp + [f"--mask={d / 'text.png'}", "--output=o.png"],
      "sr_factor_1": ["--task=sr", "--sr_factor=1", f"--image={paths['lr']}", "--output=o.png"],
      "sr_factor_3": ["--task=sr", "--sr_factor=3", f"--image={paths['lr']}", "--output=o.png"],
      "reference_size": den + [f"--reference={paths['small']}"],
      "sr_reference_size": ["--task=sr", f"--image={paths['lr']}", f"--reference={paths['lr']}",
                            "--output=o.png"],
      "bad_channels": den + ["--net_down=8,x"],
      "bad_lr": den + ["--lr=-1"],
      "not_a_number": den + ["--iters=many"],
      "unknown_flag": den + ["--colour=blue"],
      "auto_without_window": den + ["--result=auto", "--es_window=0"],
      "argument": den + ["extra"],
      "missing_flagfile": den + ["--flagfile=configs/dip_nope.cfg"],
      # Every flagfile and the task alone, checked and resolved without running.
      **{f"flagfile_{name}": [f"--flagfile=configs/dip_{name}.cfg", f"--image={paths['clean']}",
                              f"--mask={paths['mask']}", "--dry_run"]
         for name in ("denoise", "sr_x4", "sr_x8", "denoise_jpeg", "inpaint", "inpaint_vase",
                      "inpaint_library")},
      **{f"task_{name}": flags + [f"--image={paths['clean']}", f"--mask={paths['mask']}",
                                  "--dry_run"] for name, flags in OFFICIAL.items()},
      "cpu": ["--task=denoise", "--flagfile=configs/dip_cpu.cfg", f"--image={paths['clean']}",
              "--dry_run"],
      # Tiny runs of each task (the in-process tests' settings: their programs are cached).
      "denoise": den + tiny + [f"--reference={paths['clean']}", "--snapshot_every=4"],
      "denoise_again": den + tiny + [f"--reference={paths['clean']}"],
      "denoise_overwrite": den + tiny + [f"--reference={paths['clean']}", "--overwrite",
                                         "--result=ema", "--snapshot_every=4"],
      "diverged": den[:2] + [f"--output={out / 'div.png'}", *tiny,
                             f"--reference={paths['clean']}", "--input_scale=1e38"],
      "denoise_default_result": ["--task=denoise", f"--image={paths['noisy']}",
                                 f"--output={out / 'den_default.png'}", *tiny],
      "sr": ["--task=sr", f"--image={paths['lr']}", f"--reference={paths['hr']}",
             f"--output={out / 'sr.png'}", *tiny],
      "inpaint": inp + tiny + [f"--reference={paths['clean']}", f"--output={out / 'inp.png'}",
                               f"--workdir={d / 'inpaint_run'}", "--result=auto"],
  }
  # The mask flag only belongs to inpaint: drop it from the non-inpaint dry runs.
  for name in ("flagfile_denoise", "flagfile_sr_x4", "flagfile_sr_x8", "flagfile_denoise_jpeg",
               "task_denoise", "task_sr_x4", "task_sr_x8"):
    cases[name] = [a for a in cases[name] if not a.startswith("--mask=")]
  return d, cli_battery("dip.__main__", cases, cwd=REPO)


ERRORS = {
    "no_task": "pass --task", "no_image": "pass --image", "missing_image": "--image: cannot read",
    "unreadable_image": "--image: cannot read", "no_output": "pass --output",
    "bad_extension": "unknown image extension", "output_exists": "exists: pass --overwrite",
    "mask_size": "the mask is 10x10 but the image is 15x13", "mask_unknown": "no known pixels",
    "mask_denoise": "--mask is for --task=inpaint", "inpaint_no_mask": "needs --mask",
    "unreadable_mask": "--mask: cannot read", "sr_factor_1": "--sr_factor must be > 1",
    "sr_factor_3": "--sr_factor=3 is not supported",
    "reference_size": "the reference image is 10x10x3 but the result will be 15x13x3",
    "sr_reference_size": "the reference image is 4x3x3 but the result will be 16x12x3",
    "bad_channels": "--net_down must be comma-separated", "bad_lr": "--lr must be",
    "not_a_number": "iters", "unknown_flag": "colour", "auto_without_window": "--es_window",
    "argument": "unexpected arguments", "missing_flagfile": "flagfile",
    "denoise_again": "exists: pass --overwrite",
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_bad_inputs_are_one_line_and_exit_2(battery, name):
  code, out, err = battery[1][name]
  assert code == 2, (out, err)
  assert err.startswith("error: ") and err.count("\n") == 1 and ERRORS[name] in err, err
  assert "step " not in out  # refused before any work


def test_help_is_grouped_and_exits_0(battery):
  code, out, _ = battery[1]["help"]
  assert code == 0
  for text in ("run:", "Deep Image Prior (sinir_jax.dip.DIPConfig", "--task:", "--mask:",
               "--es_patience:", "--flagfile=FILE"):
    assert text in out


def _dry_config(battery, name):
  code, out, err = battery[1][name]
  assert code == 0, err
  return json.loads(out.splitlines()[0]), out.splitlines()[1]


def test_flagfiles_spell_out_the_official_settings(battery):
  for name in OFFICIAL:
    assert _dry_config(battery, f"flagfile_{name}") == _dry_config(battery, f"task_{name}")
    first = (REPO / "configs" / f"dip_{name}.cfg").read_text().splitlines()[0]
    assert first.startswith("#") and "python -m sinir_jax.dip" in first
  denoise, layout = _dry_config(battery, "task_denoise")
  assert (denoise["iters"], denoise["net_down"], denoise["upsample"]) == (3000, [128] * 5,
                                                                          "bilinear")
  assert layout == "result 15x13, net output 64x64"  # 5 levels: multiples of 32, 2 x 32 at least
  vase, _ = _dry_config(battery, "flagfile_inpaint_vase")
  assert (vase["input"], vase["input_depth"], vase["iters"], vase["net_skip"]) == (
      "meshgrid", 2, 5001, [0] * 5)
  library, layout = _dry_config(battery, "flagfile_inpaint_library")
  assert (library["net_down"], library["filter_down"], library["need1x1_up"],
          library["reg_noise_std"]) == ([16, 32, 64, 128, 128, 128], 5, False, 0)
  assert layout == "result 15x13, net output 192x192"  # 64 x (5x5 filters' padding 2 + 1)
  jpeg, _ = _dry_config(battery, "flagfile_denoise_jpeg")
  assert (jpeg["net_skip"], jpeg["input_depth"], jpeg["iters"]) == ([0, 0, 0, 4, 4], 3, 2400)
  cpu, _ = _dry_config(battery, "cpu")
  assert cpu["net_down"] == [16, 32, 64, 128, 128] and cpu["iters"] == 3000
  for name in ("dip_denoise_jpeg", "dip_inpaint_vase", "dip_inpaint_library", "dip_cpu"):
    assert (REPO / "configs" / f"{name}.cfg").read_text().startswith("#   python -m sinir_jax.dip")


def test_denoise_end_to_end(battery):
  d, results = battery
  code, out, err = results["denoise"]
  assert code == 0, err
  assert "step 4/12 loss" in out and "psnr" in out and "ETA" in out and "wrote " in out
  run = d / "out" / "den_dip"
  for name in ("curves.png", "metrics.jsonl", "config.json", "flags.cfg", "final.png", "ema.png",
               "auto.png", "auto_ema.png", "previews/step_000004.png",
               "previews/step_000008_ema.png", "previews/step_000012.png"):
    assert (run / name).exists(), name
  records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
  assert [r["step"] for r in records[:-1]] == [4, 8, 12] and records[-1]["result"]
  assert {"loss", "fit_psnr", "psnr", "psnr_ema", "variance", "best_step"} <= set(records[0])
  assert records[-1]["steps"] == 12 and "auto_psnr" in records[-1]
  config = json.loads((run / "config.json").read_text())["config"]
  assert config["task"] == "denoise" and config["iters"] == 12 and config["net_down"] == [4, 4]
  assert "--image=" in (run / "flags.cfg").read_text()
  # --overwrite redid the run (into the same folder) and wrote the running average.
  code, _, err = results["denoise_overwrite"]
  assert code == 0, err
  written = sj.load_image(d / "out" / "den.png")
  np.testing.assert_array_equal(written, sj.load_image(run / "ema.png"))
  assert written.shape == (15, 13, 3)


def test_the_default_output_is_the_average_at_the_early_stop_for_denoising(battery):
  d, results = battery
  for name in ("denoise_default_result", "sr"):
    assert results[name][0] == 0, results[name][2]
  out = d / "out"
  np.testing.assert_array_equal(sj.load_image(out / "den_default.png"),
                                sj.load_image(out / "den_default_dip" / "auto_ema.png"))
  assert "the auto_ema output" in results["denoise_default_result"][1]
  np.testing.assert_array_equal(sj.load_image(out / "sr.png"),
                                sj.load_image(out / "sr_dip" / "final.png"))


def test_a_diverged_run_exits_1(battery):
  code, _, err = battery[1]["diverged"]
  assert code == 1 and err == "error: the loss became NaN or inf before step 4: try a lower --lr\n"
  assert not (battery[0] / "out" / "div.png").exists()


def test_sr_and_inpaint_end_to_end(battery):
  d, results = battery
  for name in ("sr", "inpaint"):
    code, out, err = results[name]
    assert code == 0, err
  written = sj.load_image(d / "out" / "sr.png")
  assert written.shape == (16, 12, 3)
  # --reference: the last line scores the written file against it.
  score = measure.psnr(written, sj.load_image(d / "hr.png"))
  assert f"PSNR {score:.2f} dB to --reference" in results["sr"][1]
  assert "PSNR" not in results["denoise_default_result"][1].splitlines()[-1]
  assert (d / "out" / "sr_dip" / "curves.png").exists()
  filled = sj.load_image(d / "out" / "inp.png")
  assert filled.shape == (15, 13, 3)
  np.testing.assert_array_equal(filled, sj.load_image(d / "inpaint_run" / "auto.png"))
  assert TINY.iters == 12
