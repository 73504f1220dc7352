"""Double-DIP's tasks: the mixing identities (the losses recompose in the right order, the
synthetic cases are what they claim) and bad inputs as InputError (runs: test_double_cli)."""
# pylint: disable=protected-access (the task losses are checked on known decompositions)
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
  data = {"image1": _unit(mix1), "image2": _unit(mix2)}
  _, logged = jax.jit(tasks._separate_loss)(outs, data, 0, 5)
  assert float(logged["psnr"]) > 60
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
