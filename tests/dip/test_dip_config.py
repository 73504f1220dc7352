"""DIPConfig: each task's official setting, presets under explicit values, every bad field."""
import pytest

from sinir_jax.core.errors import InputError
from sinir_jax.dip import DIPConfig
from sinir_jax.dip import config as config_lib
from sinir_jax.dip import preset_for


def test_a_task_alone_runs_its_official_setting():
  denoise = DIPConfig(task="denoise").validate()
  assert (denoise.iters, denoise.reg_noise_std, denoise.lr, denoise.backtrack) == (
      3000, 1 / 30, 0.01, True)
  assert (denoise.input, denoise.input_depth, denoise.input_scale) == ("noise", 32, 0.1)
  assert denoise.net_down == denoise.net_up == (128,) * 5 and denoise.net_skip == (4,) * 5
  assert (denoise.upsample, denoise.downsample, denoise.pad, denoise.need1x1_up) == (
      "bilinear", "stride", "reflection", True)
  assert (denoise.filter_down, denoise.filter_up, denoise.filter_skip) == (3, 3, 1)
  sr4, sr8 = (DIPConfig(task="sr", sr_factor=f).validate() for f in (4, 8))
  assert (sr4.iters, sr4.reg_noise_std, sr4.backtrack, sr4.net) == (2000, 0.03, False, "skip")
  assert (sr8.iters, sr8.reg_noise_std) == (4000, 0.05)
  inpaint = DIPConfig(task="inpaint").validate()
  assert (inpaint.iters, inpaint.reg_noise_std, inpaint.net) == (6001, 0.03, "kate")
  assert inpaint.net_skip == (128,) * 5 and inpaint.upsample == "nearest"
  assert preset_for("sr", 8)["iters"] == 4000


def test_explicit_values_win_over_the_presets():
  config = DIPConfig(task="sr", iters=5, net="library", net_skip="1,1,1,1,1,1",
                     backtrack=True).validate()
  assert (config.iters, config.backtrack, config.reg_noise_std) == (5, True, 0.03)
  assert config.net_skip == (1,) * 6 and config.net_down == (16, 32, 64, 128, 128, 128)
  assert (config.filter_down, config.need1x1_up, config.depth) == (5, False, 6)
  # Validated configs are complete: validating again changes nothing.
  assert config.validate() == config
  assert DIPConfig.from_dict(config.to_dict()) == config


def test_to_flags():
  flags = DIPConfig(task="inpaint", net_down=(8, 16)).to_flags()
  assert "--task=inpaint" in flags and "--net_down=8,16" in flags
  assert "--sigmoid=true" in flags and not any(f.startswith("--iters") for f in flags)


@pytest.mark.parametrize("changes, flag", [
    (dict(task=None), "--task"),
    (dict(task="deblur"), "--task"),
    (dict(sr_factor=1), "--sr_factor"),
    (dict(sr_factor=3), "--sr_factor"),
    (dict(net="unet"), "--net"),
    (dict(net_down="8,x"), "--net_down"),
    (dict(net_down=(8, 8), net_up=(8, 8, 8), net_skip=(1, 1)), "--net_up"),
    (dict(net_down=(8, 0), net_up=(8, 8), net_skip=(1, 1)), "--net_down"),
    (dict(net_skip=(4, 4, 4, 4, -1)), "--net_skip"),
    (dict(filter_down=4), "--filter_down"),
    (dict(filter_skip=0), "--filter_skip"),
    (dict(upsample="bicubic"), "--upsample"),
    (dict(downsample="lanczos"), "--downsample"),
    (dict(pad="edge"), "--pad"),
    (dict(conv_impl="cudnn"), "--conv_impl"),
    (dict(input="image"), "--input"),
    (dict(input_depth=0), "--input_depth"),
    (dict(input="meshgrid"), "--input_depth"),
    (dict(input_scale=0.0), "--input_scale"),
    (dict(lr=float("nan")), "--lr"),
    (dict(reg_noise_std=-0.1), "--reg_noise_std"),
    (dict(ema=1.0), "--ema"),
    (dict(backtrack_drop=0.0), "--backtrack_drop"),
    (dict(backtrack_every=0), "--backtrack_every"),
    (dict(es_window=1), "--es_window"),
    (dict(es_patience=-1), "--es_patience"),
    (dict(es_window=0, es_patience=10), "--es_window"),
    (dict(seed=2**63), "--seed"),
    (dict(iters=0), "--iters"),
    (dict(log_every=0), "--log_every"),
    (dict(steps_per_call=0), "--steps_per_call"),
    (dict(snapshot_every=-1), "--snapshot_every"),
])
def test_bad_fields_are_one_line_naming_the_flag(changes, flag):
  with pytest.raises(InputError) as error:
    DIPConfig(**{"task": "denoise", **changes}).validate()
  message = str(error.value)
  assert flag in message and "\n" not in message, message


def test_net_presets_set_every_net_field():
  for values in config_lib.NETS.values():
    assert set(values) == set(config_lib.NETS["skip"])
    assert all(getattr(DIPConfig(), name) is None for name in values)


def test_denoising_stops_early_by_default_and_the_other_tasks_do_not():
  assert DIPConfig(task="denoise").resolved().es_patience == 1000
  assert DIPConfig(task="sr").resolved().es_patience == 0
  assert DIPConfig(task="inpaint").resolved().es_patience == 0
  assert DIPConfig(task="denoise", es_patience=0).resolved().es_patience == 0
