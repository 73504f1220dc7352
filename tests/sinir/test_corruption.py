import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sinir_jax as sj


def _distinct_image(h=50, w=60, c=3):
  values = np.arange(h * w, dtype=np.float32).reshape(h, w, 1) / (h * w)
  return jnp.asarray(np.repeat(values, c, axis=-1) + np.arange(c, dtype=np.float32) * 10)


def test_changed_fraction_matches_release(golden):
  stats = golden("shuffle_stats")["p_and_changed_fraction"]
  x = _distinct_image()
  draws = 20
  shuffle = jax.jit(sj.pixel_shuffle)
  for p, expected in stats:
    keys = jax.random.split(jax.random.key(int(p * 1e4)), draws)
    changed = np.mean([float(jnp.mean(jnp.any(shuffle(k, x, p) != x, axis=-1))) for k in keys])
    # Both are means of ~20 * 3000 Bernoulli draws: allow 4 sigma of their difference.
    sigma = np.sqrt(2 * max(p, 1e-4) * (1 - p) / (draws * 3000))
    assert abs(changed - expected) <= 4 * sigma, (p, changed, expected)


def test_one_source_for_all_channels():
  x = _distinct_image()
  out = np.asarray(sj.pixel_shuffle(jax.random.key(0), x, 0.5))
  # Channel c is channel 0 plus 10 * c wherever the pixel came from.
  for c in range(1, 3):
    np.testing.assert_allclose(out[..., c] - out[..., 0], 10.0 * c, atol=1e-4)
  assert (out[..., 0] != np.asarray(x)[..., 0]).mean() > 0.3


def test_batch_gets_independent_draws():
  x = jnp.stack([_distinct_image()] * 4)
  out = np.asarray(sj.pixel_shuffle(jax.random.key(1), x, 0.3))
  masks = [(out[i] != np.asarray(x[i])).any(-1) for i in range(4)]
  for i in range(1, 4):
    assert (masks[i] != masks[0]).any()


def test_same_key_same_result_and_p_zero_identity():
  x = _distinct_image(20, 30)
  key = jax.random.key(7)
  np.testing.assert_array_equal(sj.pixel_shuffle(key, x, 0.2), sj.pixel_shuffle(key, x, 0.2))
  assert not np.array_equal(sj.pixel_shuffle(key, x, 0.2),
                            sj.pixel_shuffle(jax.random.key(8), x, 0.2))
  for seed in range(5):
    np.testing.assert_array_equal(sj.pixel_shuffle(jax.random.key(seed), x, 0.0), x)


@pytest.mark.parametrize("p", [0.0, 0.1, 1.0])
def test_traced_p_under_jit(p):
  x = _distinct_image(10, 12)
  traces = []

  @jax.jit
  def shuffled(key, prob):
    traces.append(1)
    return sj.pixel_shuffle(key, x, prob)

  out = shuffled(jax.random.key(0), jnp.float32(p))
  shuffled(jax.random.key(1), jnp.float32(p / 2))
  assert len(traces) == 1
  np.testing.assert_array_equal(out, sj.pixel_shuffle(jax.random.key(0), x, p))
