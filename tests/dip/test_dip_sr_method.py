"""DIP as a method of the x4 SR benchmark: its attributes and a tiny run on one pair."""
import json

import numpy as np
import pytest

import sinir_jax as sj
from sinir_jax.benchmarks.sr import pairs as pairs_lib
from sinir_jax.core.errors import InputError
from sinir_jax.dip import sr_method
from conftest import smooth_image
from tiny_dip import TINY


def test_dip_method_runs_each_pair(tmp_path):
  hr = smooth_image(16, 12, seed=2)
  sj.save_image(tmp_path / "img_HR.png", hr)
  sj.save_image(tmp_path / "img_LR.png", hr[1::4, 1::4])
  pair = pairs_lib.Pair("img", str(tmp_path / "img_HR.png"), str(tmp_path / "img_LR.png"), (4, 3))
  method = sr_method.DIP(TINY)
  assert (method.key, method.label, method.fields, method.extra(None)) == ("dip", "DIP", {}, {})
  assert method.config.task == "sr" and method.config.sr_factor == 4
  assert method.normalize(json.loads(json.dumps(method.identity))) == method.identity
  assert "--net_down=4,4" in method.note and "log_every" not in method.identity
  lines = []
  ((done, output, seconds, failure),) = list(method.run([pair], str(tmp_path / "dip"),
                                                         lines.append))
  assert done is pair and failure is None and seconds > 0
  assert output.dtype == np.uint8 and output.shape == (16, 12, 3)
  assert (tmp_path / "dip" / "runs" / "img" / "curves.png").exists()
  assert any(line.startswith("    step 4/12") and "psnr" in line for line in lines)
  assert sr_method.DIP(TINY, result="auto").key == "dip_auto"
  with pytest.raises(InputError):
    sr_method.DIP(TINY, result="best")
  with pytest.raises(InputError):
    sr_method.DIP(TINY.replace(es_window=0), result="auto")
  missing = pairs_lib.Pair("gone", str(tmp_path / "no_HR.png"), str(tmp_path / "no_LR.png"),
                           (4, 3))
  ((_, output, _, failure),) = list(method.run([missing], str(tmp_path / "dip"), lines.append))
  assert output is None and "cannot read image" in failure
