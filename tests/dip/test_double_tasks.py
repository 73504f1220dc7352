"""Double-DIP's tasks: the mixing identities (the losses recompose in the right order, the
synthetic cases are what they claim), the synthetic benchmark's scores, and bad inputs as
InputError (runs: test_double_cli)."""
# pylint: disable=protected-access (the task losses are checked on known decompositions)
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sinir_jax as sj
from sinir_jax.dip import double
from sinir_jax.dip.double import synthetic
from sinir_jax.dip.double import tasks
from tiny_double import SIZE, TINY, box, layers, trimap


def _unit(x):
  return jnp.asarray((x[None] + 1) / 2)


def test_the_losses_recompose_the_truth():
  a, b = layers()
  image, mask, tri = synthetic.composite(a, b, np.random.default_rng(0))
  fg, bg = tasks.trimap_hints(tri)
  outs = {"foreground": _unit(b), "background": _unit(a),
          "mask": jnp.asarray(mask[None, ..., None])}
  data = {"image": _unit(image), "fg_hint": fg[None, ..., None], "bg_hint": bg[None, ..., None],
          "trimap": tri[None, ..., None]}
  _, logged = jax.jit(tasks._segment_loss)(outs, data, 1, 5)
  assert float(logged["psnr"]) > 60
  mix1, mix2 = synthetic.mixtures(a, b)
  full = lambda alpha: jnp.full((1, *SIZE, 1), (alpha - 0.05) / 0.9)
  outs = {"layer1": _unit(a), "layer2": _unit(b), "alpha1": full(0.3), "alpha2": full(0.7)}
  data = {"image1": _unit(mix1), "image2": _unit(mix2), "exclusion_weight": 0.1}
  loss, logged = jax.jit(tasks._separate_loss)(outs, data, 0, 5)
  assert float(logged["psnr"]) > 60
  # MSE 0; before step 1000 the alphas' pull to 1/2: 0.5 (0.2^2 + 0.2^2).
  assert float(loss) == pytest.approx(0.04 + 0.1 * float(logged["exclusion"]), rel=1e-4)
  assert float(logged["exclusion"]) > 0
  hazy, t, airlight = synthetic.hazy(a, np.random.default_rng(0))
  outs = {"image": _unit(a), "transmission": jnp.asarray(t[None, ..., None]),
          "airlight": jnp.zeros((1, *SIZE, 3))}
  data = {"image": _unit(hazy), "airlight": airlight[None, None, None]}
  loss, logged = jax.jit(tasks._dehaze_loss)(outs, data, 0, 5)
  assert float(logged["psnr"]) > 60
  assert float(loss) == pytest.approx(0.005 * float(logged["std"]), abs=1e-9)  # MSE 0


def test_synthetic_cases_are_what_they_claim():
  a, b = layers()
  image, mask, tri = synthetic.composite(a, b, np.random.default_rng(3))
  np.testing.assert_allclose(image[mask == 1], b[mask == 1])
  np.testing.assert_allclose(image[mask == 0], a[mask == 0])
  assert (mask[tri == 1] == 1).all() and (mask[tri == 0] == 0).all()
  hazy, t, airlight = synthetic.hazy(a, np.random.default_rng(3))
  np.testing.assert_allclose((hazy + 1) / 2, t[..., None] * (a + 1) / 2
                             + (1 - t[..., None]) * airlight, atol=1e-6)
  marked, hint, (top, left, bottom, right) = synthetic.watermark(a, np.random.default_rng(3))
  outside = hint == 0
  np.testing.assert_array_equal(marked[outside], a[outside])
  assert hint[top:bottom, left:right].all() and synthetic.psnr(marked, a, hint > 0) < 40
  again = synthetic.hazy(a, np.random.default_rng(3))[0]
  np.testing.assert_array_equal(again, hazy)


@pytest.mark.parametrize("call, message", [
    (lambda a, b: double.separate(a, b[:-1], TINY), "mixtures differ in size"),
    (lambda a, b: double.segment(a, trimap()[:-1], TINY), "hint is 15x20"),
    (lambda a, b: double.segment(a, np.full(SIZE, 0.5), TINY), "both foreground"),
    (lambda a, b: double.remove_watermark(a, np.zeros(SIZE), TINY), "must mark a box"),
    (lambda a, b: double.remove_watermark(a, box(), TINY.replace(task="dehaze")),
     "for task 'dehaze'"),
    (lambda a, b: double.remove_watermark_many([a, b[:-1]], TINY), "two or more images"),
])
def test_bad_inputs_are_one_line_errors(call, message):
  a, b = layers()
  with pytest.raises(sj.InputError, match=message):
    call(a, b)


def test_the_synthetic_benchmark_scores_what_it_wrote(tmp_path):
  a, b = layers()
  rows = synthetic.run_benchmark([a, b], TINY, tasks_=("separate",), output_dir=tmp_path,
                                 report=lambda _: None)
  assert [(r["task"], r["case"]) for r in rows] == [("separate", 0), ("separate", 1)]
  for row, (first, second) in zip(rows, ((a, b), (b, a))):
    folder = tmp_path / f"separate_{row['case']}"
    got = [sj.load_image(folder / name) for name in ("layer1.png", "layer2.png")]
    best = max(synthetic.psnr(got[0], first) + synthetic.psnr(got[1], second),
               synthetic.psnr(got[1], first) + synthetic.psnr(got[0], second))
    assert sum(row["result"]) == pytest.approx(best, abs=0.1)  # the PNGs are 8-bit
    mix1, mix2 = synthetic.mixtures(first, second)
    assert row["baseline"] == [max(synthetic.psnr(m1, t), synthetic.psnr(m2, t))
                               for m1, m2, t in ((mix1, mix2, first), (mix1, mix2, second))]
    flat = [np.zeros_like(t) + t.mean(axis=(0, 1)) for t in (first, second)]
    assert row["flat"] == pytest.approx([synthetic.psnr(f, t)
                                         for f, t in zip(flat, (first, second))])
    assert row["met"] == all(r > base for r, base in zip(row["result"], row["baseline"]))
    flat_text = "/".join(f"{v:.3f}" for v in row["flat"])
    assert f"mean colour {flat_text} |" in (tmp_path / "table.md").read_text()
  assert json.loads((tmp_path / "rows.json").read_text()) == rows
  one = synthetic.run_benchmark([a, b], TINY, tasks_=("dehaze",), cases=1, report=lambda _: None)
  assert [(r["task"], r["case"]) for r in one] == [("dehaze", 0)]
