"""Double-DIP's losses against values computed by hand or by an independent numpy loop, the
augmentations against the official ``create_augmentations``, and the host-side refinements."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sinir_jax.dip.double import engine
from sinir_jax.dip.double import losses
from sinir_jax.dip.double import refine

exclusion = jax.jit(losses.exclusion)  # one program, not an eager op at a time


def _exclusion_by_loops(x1, x2, levels=3):
  """The official ExclusionLoss written out: (1, H, W, C) arrays, 2 sigmoid(g) - 1 = tanh(g / 2)."""
  x1, x2 = x1[0].astype(np.float64), x2[0].astype(np.float64)
  terms = {0: [], 1: []}
  for _ in range(levels):
    for axis in (0, 1):
      s1, s2 = np.tanh(np.diff(x1, axis=axis) / 2), np.tanh(np.diff(x2, axis=axis) / 2)
      for i, j in itertools.product(range(x1.shape[-1]), repeat=2):
        terms[axis].append(np.mean(s1[..., j] ** 2 * s2[..., i] ** 2) ** 0.25)
    h, w = x1.shape[0] // 2 * 2, x1.shape[1] // 2 * 2
    x1 = (x1[0:h:2, 0:w:2] + x1[1:h:2, 0:w:2] + x1[0:h:2, 1:w:2] + x1[1:h:2, 1:w:2]) / 4
    x2 = (x2[0:h:2, 0:w:2] + x2[1:h:2, 0:w:2] + x2[0:h:2, 1:w:2] + x2[1:h:2, 1:w:2]) / 4
  return (np.mean(terms[0]) + np.mean(terms[1])) / 2


def test_exclusion_of_ramps_by_hand():
  # Both layers rise by d per row and are flat along rows: the vertical differences are d, 2d
  # and 4d at the three levels (2x2 averages of a ramp), the horizontal ones 0; each vertical
  # term is mean(s^2 s^2) ** 0.25 = tanh(g / 2) with s = 2 sigmoid(g) - 1.
  d = 0.3
  ramp = (np.arange(8, dtype=np.float32)[:, None] * d * np.ones((1, 8), np.float32))
  x = jnp.asarray(ramp[None, ..., None])
  vertical = np.mean([np.tanh(d / 2), np.tanh(d), np.tanh(2 * d)])
  np.testing.assert_allclose(float(exclusion(x, x)), vertical / 2, rtol=1e-5)


def test_exclusion_matches_loops_on_random_layers():
  rng = np.random.default_rng(0)
  x1 = rng.uniform(0, 1, (1, 9, 11, 3)).astype(np.float32)
  x2 = rng.uniform(0, 1, (1, 9, 11, 3)).astype(np.float32)
  np.testing.assert_allclose(float(exclusion(jnp.asarray(x1), jnp.asarray(x2))),
                             _exclusion_by_loops(x1, x2), rtol=1e-5)


def test_exclusion_is_zero_where_one_layer_is_flat():
  x = jnp.asarray(np.random.default_rng(1).uniform(0, 1, (1, 8, 8, 3)), jnp.float32)
  assert float(exclusion(x, jnp.full_like(x, 0.4))) == 0.0


def test_std_gray_and_masked_l1_by_hand():
  impulse = np.zeros((1, 5, 5, 3), np.float32)
  impulse[0, 2, 2] = 1  # grey 1 at the centre, its 5x5 mean 1/25: one valid pixel
  np.testing.assert_allclose(float(losses.std(jnp.asarray(impulse))), (1 - 1 / 25) ** 2,
                             rtol=1e-6)
  assert float(losses.std(jnp.full((1, 7, 9, 1), 0.3))) == pytest.approx(0, abs=1e-12)
  assert float(losses.gray(jnp.zeros((1, 4, 4, 1)))) == pytest.approx(2.0)
  a, b = jnp.ones((1, 2, 2, 3)), jnp.zeros((1, 2, 2, 3))
  weight = jnp.asarray([[1.0, 0.0], [1.0, 0.0]])[None, ..., None]
  assert float(losses.masked_l1(a, b, weight)) == pytest.approx(1.0)  # 0.5 / 0.5


@pytest.mark.parametrize("shape", [(1, 4, 4, 2), (1, 4, 6, 2)])
def test_augmentations_follow_the_official_order_and_invert(shape):
  x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
  chw = x[0].transpose(2, 0, 1)
  official = [np.rot90(chw, k, (1, 2)) for k in range(4)]
  official += [np.rot90(chw[:, ::-1], k, (1, 2)) for k in range(4)]
  for k in range(8) if shape[1] == shape[2] else (0, 2, 4, 6):
    y = engine.augment(jnp.asarray(x), jnp.int32(k))
    np.testing.assert_array_equal(np.asarray(y)[0].transpose(2, 0, 1), official[k])
    np.testing.assert_array_equal(engine.augment(y, jnp.int32(k), inverse=True), x)


def test_guided_filter_keeps_constants_and_airlight_takes_the_haziest():
  rng = np.random.default_rng(2)
  guide = rng.uniform(0, 1, (12, 10, 3)).astype(np.float32)
  np.testing.assert_allclose(refine.guided_filter(guide, np.full((12, 10), 0.7), 3), 0.7,
                             atol=1e-4)
  image = np.full((30, 30, 3), 0.2, np.float32)
  image[:20, :20] = (0.9, 0.8, 0.7)  # the only region whose 15x15 dark channel is bright
  np.testing.assert_allclose(refine.airlight(image), (0.9, 0.8, 0.7))
  # A 6x6 bright patch: the official 15x15 minimum never sees it whole, a 3x3 one does.
  image = np.full((64, 64, 3), 0.2, np.float32)
  image[30:36, 40:46] = (0.9, 0.8, 0.7)
  np.testing.assert_allclose(refine.airlight(image), (0.2, 0.2, 0.2))
  np.testing.assert_allclose(refine.airlight(image, window=3), (0.9, 0.8, 0.7))
  # The official radius on images of hundreds of pixels, local on small crops.
  assert refine.radius_for((481, 321)) == 40 and refine.radius_for((600, 800)) == 50
  assert refine.radius_for((64, 64)) == 8 and refine.radius_for((64, 64), 3) == 3
