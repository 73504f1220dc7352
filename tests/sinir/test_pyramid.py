import json

import numpy as np
import pytest

import sinir_jax as sj
from sinir_jax.sinir import pyramid
from conftest import GOLDEN

ROWS = json.loads((GOLDEN / "scales.json").read_text())


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['h']}x{r['w']}-{r['min_size']}-"
                         f"{r['max_size']}-{r['scale_factor']}")
def test_scale_params_and_sizes_exact(row):
  factor, num_scales, size = sj.scale_params(row["h"], row["w"], row["min_size"],
                                             row["max_size"], row["scale_factor"])
  assert factor == row["eff_factor"]
  assert num_scales == row["scale_num"]
  assert size == (row["out_h"], row["out_w"])
  assert pyramid.pyramid_sizes(*size, num_scales, factor) == [tuple(s) for s in row["sizes"]]


def test_build_pyramid_resamples_previous_level():
  image = np.random.default_rng(0).uniform(-1, 1, (40, 60, 3)).astype(np.float32)
  levels = sj.build_pyramid(image, 4, 0.8, "matlab")
  assert [lv.shape[:2] for lv in levels] == pyramid.pyramid_sizes(40, 60, 4, 0.8)
  np.testing.assert_array_equal(np.asarray(levels[-1]), image)
  # Cumulative: level k comes from level k + 1, not from the original.
  np.testing.assert_allclose(np.asarray(levels[1]),
                             np.asarray(sj.resize(levels[2], levels[1].shape[:2], "matlab")))
