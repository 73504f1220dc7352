"""Plots: the figures hold the data they were given."""
import numpy as np
from PIL import Image

from sinir_jax.core import plots


def test_curves_hold_each_series():
  figure = plots.curves({"a": ([1, 2, 3], [3.0, 2.0, 1.0]), "b": ([1, 2], [5.0, 4.0])},
                        title="t", xlabel="x", ylabel="y", log_y=True)
  axes = figure.axes[0]
  assert [line.get_label() for line in axes.lines] == ["a", "b"]
  np.testing.assert_array_equal(axes.lines[0].get_xydata(), [[1, 3], [2, 2], [3, 1]])
  assert axes.get_yscale() == "log" and axes.get_title() == "t"


def test_scatter_separates_references_and_labels_points():
  figure = plots.scatter([("bicubic", 15.0, 7.5, True), ("p=0.005", 16.0, 4.0, False),
                          ("p=0.0005", 16.5, 3.6, False)], title="t", xlabel="x", ylabel="y")
  axes = figure.axes[0]
  reference, others = axes.collections
  np.testing.assert_array_equal(reference.get_offsets(), [[15.0, 7.5]])
  np.testing.assert_array_equal(others.get_offsets(), [[16.0, 4.0], [16.5, 3.6]])
  assert [text.get_text() for text in axes.texts] == ["bicubic", "p=0.005", "p=0.0005"]


def test_bars_one_panel_per_metric_and_png(tmp_path):
  figure = plots.bars({"PSNR": {"bicubic": 26.3, "zssr": 27.4}, "NIQE": {"bicubic": 7.7,
                                                                          "zssr": 6.1}},
                      title="t", ylabels={"PSNR": "dB"})
  psnr, niqe = figure.axes
  assert [bar.get_height() for bar in psnr.patches] == [26.3, 27.4]
  assert [bar.get_height() for bar in niqe.patches] == [7.7, 6.1]
  assert [t.get_text() for t in psnr.get_xticklabels()] == ["bicubic", "zssr"]
  path = tmp_path / "bars.png"
  path.write_bytes(plots.to_png(figure))
  with Image.open(path) as im:
    assert im.format == "PNG" and im.size[0] > 400
