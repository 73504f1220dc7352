"""What every command-line tool shares: importable together, --help, one-line errors."""
import subprocess
import sys

import pytest

from conftest import REPO

ENTRY_POINTS = ("train", "infer", "train_many", "evaluate", "bench")


def _run(module, *args, **kwargs):
  return subprocess.run([sys.executable, "-m", f"sinir_jax.{module}", *args],
                        capture_output=True, text=True, timeout=120, **kwargs)


def test_entry_modules_import_together_and_the_api_still_calls():
  code = ("import sinir_jax as sj; " + "; ".join(f"import sinir_jax.{m}" for m in ENTRY_POINTS)
          + "; from sinir_jax.sinir import many; "
          "cfg = sj.Config(min_size=8, max_size=12, net_ch=2, iters=1); "
          "import numpy as np; x = np.zeros((12, 12, 3), np.float32); "
          "model = sj.train(x, cfg, report=lambda _: None); "
          "print(model.num_scales, sj.train_many.__function__ is many.train_many)")
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
  assert result.returncode == 0, result.stderr
  assert result.stdout.split()[-1] == "True" and int(result.stdout.split()[-2]) >= 2


@pytest.mark.parametrize("module, expected", [
    ("train", ["--image", "--max_size", "--shuffle_p", "--net_ch", "--conv_impl",
               "--steps_per_call", "--infer_input", "--infer_mask"]),
    ("infer", ["--workdir", "--input", "--entry_scale", "--mask", "--keep_input_size"]),
    ("train_many", ["--images", "--batch_per_device", "--coordinator_address", "--net_ch"]),
    ("evaluate", ["--hr_dir", "--method", "--shuffle_p", "--iters"]),
    ("bench", ["--sizes", "--channels", "--photo_size"]),
])
def test_help_lists_the_commands_flags_with_defaults_and_exits_0(module, expected):
  result = _run(module, "--help")
  assert result.returncode == 0, result.stderr
  for flag in expected:
    assert f"  {flag}: " in result.stdout, flag
  assert "(default: " in result.stdout and "--flagfile" in result.stdout
  assert "--jax_" not in result.stdout  # the libraries' flags stay under --helpfull


def test_train_help_shows_the_config_group_and_defaults():
  text = _run("train", "-h").stdout
  assert "training (sj.Config" in text
  assert "--max_size: longer side of the finest level (default: 250)" in text
  assert "--task: generic | photo" in text and "(default: 'generic')" in text


@pytest.mark.parametrize("args, message", [
    (["--flagfile=nope.cfg"], "cannot read the flagfile"),
    (["--max_size=big"], "max_size"),
    (["--no_such_flag=1"], "no_such_flag"),
])
def test_bad_flags_one_line_exit_2(tmp_path, args, message):
  result = _run("train", *args, cwd=tmp_path)
  assert result.returncode == 2
  assert message in result.stderr and "Traceback" not in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr
  assert not (tmp_path / "runs").exists()


def test_non_utf8_flagfile_one_line_exit_2(tmp_path):
  (tmp_path / "bad.cfg").write_bytes(b"--max_size=40\n--image=\xff\xfe.png\n")
  result = _run("train", f"--flagfile={tmp_path / 'bad.cfg'}", cwd=tmp_path)
  assert result.returncode == 2 and "not UTF-8" in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr


_PARSE_FLAGFILES = """
import glob, sys
from absl import flags
import {module} as tool
from sinir_jax.core import cli
from {config_module} import {config_class} as config_class
tool.define_flags(cli.Command(""))
for path in sys.argv[1:]:
  flags.FLAGS.unparse_flags()
  flags.FLAGS(["tool", {extra!r}, "--flagfile=" + path][not {extra!r}:])
  print(path, cli.config_from_flags(config_class).to_dict()["{field}"])
"""


def _flagfiles(kind):
  """The repository's flagfiles of a tool: zssr*.cfg, dip_*.cfg, double_dip_*.cfg, the rest
  SinIR's."""
  paths = sorted(str(p.relative_to(REPO)) for p in (REPO / "configs").glob("*.cfg"))
  return [p for p in paths if (kind if kind != "sinir" else "") == next(
      (k for k in ("zssr", "dip_", "double_dip_") if p.startswith(f"configs/{k}")), "")]


@pytest.mark.parametrize("kind, module, config, extra, field, expected", [
    ("sinir", "sinir_jax.train", "sinir_jax.sinir.config.Config", "", "max_size",
     {"configs/art.cfg": "500", "configs/demo.cfg": "96"}),
    ("zssr", "sinir_jax.zssr.__main__", "sinir_jax.zssr.config.ZSSRConfig", "", "max_iters",
     {"configs/zssr.cfg": "3000", "configs/zssr_cpu.cfg": "1000"}),
    # dip_cpu.cfg sizes any task down: parsed after a --task.
    ("dip_", "sinir_jax.dip.__main__", "sinir_jax.dip.config.DIPConfig", "--task=denoise",
     "iters", {"configs/dip_denoise.cfg": "3000", "configs/dip_sr_x8.cfg": "4000"}),
    # double_dip_cpu.cfg (--preset=cpu) also comes after a --task.
    ("double_dip_", "sinir_jax.double_dip", "sinir_jax.dip.double.config.DoubleDIPConfig",
     "--task=dehaze", "iters", {"configs/double_dip_dehaze.cfg": "4000",
                                "configs/double_dip_segment.cfg": "2000",
                                "configs/double_dip_cpu.cfg": "600"}),
])
def test_repository_flagfiles_parse_into_valid_configs(kind, module, config, extra, field,
                                                       expected):
  paths = _flagfiles(kind)
  config_module, config_class = config.rsplit(".", 1)
  code = _PARSE_FLAGFILES.format(module=module, config_module=config_module,
                                 config_class=config_class, field=field, extra=extra)
  result = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
  assert result.returncode == 0, result.stderr
  parsed = dict(line.split() for line in result.stdout.splitlines())
  assert sorted(parsed) == paths and len(paths) >= 2
  for path, value in expected.items():
    assert parsed[path] == value, path


def test_every_flagfile_is_checked():
  checked = (_flagfiles("sinir") + _flagfiles("zssr") + _flagfiles("dip_")
             + _flagfiles("double_dip_"))
  assert sorted(checked) == sorted(str(p.relative_to(REPO)) for p in (REPO / "configs").glob(
      "*.cfg")) and len(_flagfiles("sinir")) == 6
