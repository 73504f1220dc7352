"""The Lanczos2 downsampler against the notes' kernel values and the official conv; masks; the
fixed input and its perturbation."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sinir_jax.dip import inputs
from sinir_jax.dip import ops

# /work/notes/dip.md section 3.1: the first half of each normalised 1-D kernel (symmetric).
NOTES = {
    2: [-0.008863, -0.041940, 0.116500, 0.434303],
    4: [-0.001065, -0.009752, -0.020384, -0.014878, 0.024594, 0.098658, 0.183115, 0.239711],
    8: [-0.000128, -0.001231, -0.003453, -0.006393, -0.009203, -0.010678, -0.009457, -0.004314,
        0.005541, 0.020202, 0.038917, 0.060107, 0.081543, 0.100680, 0.115072, 0.122797],
}


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_lanczos2_taps_match_the_notes(factor):
  taps = ops.lanczos2_taps(factor)
  assert taps.shape == (4 * factor,)
  np.testing.assert_allclose(taps[:2 * factor], NOTES[factor], atol=6e-7)
  np.testing.assert_array_equal(taps, taps[::-1])
  assert abs(taps.sum() - 1) < 1e-12


def test_lanczos2_x4_unnormalised_values_and_2d_kernel():
  taps = ops.lanczos2_taps(4)
  unnormalised = [-0.004303, -0.039389, -0.082335, -0.060095, 0.099341, 0.398503, 0.739643,
                  0.968246]  # d = 1.875 ... 0.125; the 16 taps sum to 4.0392
  np.testing.assert_allclose(taps[:8] * 4.039219, unnormalised, atol=6e-7)
  kernel = np.outer(taps, taps)
  assert abs(kernel[0, 0] - 1.13e-6) < 0.01e-6
  np.testing.assert_allclose(kernel[7:9, 7:9], 0.057461, atol=5e-7)


def _official(x, factor):
  """The official Downsampler in numpy: replication pad (4f - f) / 2, the 2-D kernel, stride f."""
  kernel = np.outer(ops.lanczos2_taps(factor), ops.lanczos2_taps(factor))
  k, pad = kernel.shape[0], (kernel.shape[0] - factor) // 2
  padded = np.pad(x, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
  h, w = x.shape[0] // factor, x.shape[1] // factor
  out = np.zeros((h, w, x.shape[2]))
  for i in range(h):
    for j in range(w):
      window = padded[i * factor:i * factor + k, j * factor:j * factor + k]
      out[i, j] = np.einsum("hwc,hw->c", window, kernel)
  return out


@pytest.mark.parametrize("factor, shape", [(4, (16, 12, 2)), (8, (16, 24, 1))])
def test_downsample_is_the_official_conv(factor, shape):
  x = np.random.default_rng(0).uniform(size=shape).astype(np.float32)
  y = np.asarray(ops.downsample(jnp.asarray(x)[None], factor))[0]
  assert y.shape == (shape[0] // factor, shape[1] // factor, shape[2])
  np.testing.assert_allclose(y, _official(x.astype(np.float64), factor), atol=2e-6)


def test_downsample_footprint_and_constants():
  impulse = np.zeros((1, 32, 32, 1), np.float32)
  impulse[0, 10, 10] = 1
  y = np.asarray(ops.downsample(jnp.asarray(impulse), 4))[0, :, :, 0]
  # Output pixel o covers input rows 4o - 6 ... 4o + 9: row 10 reaches o = 1 ... 4.
  assert np.flatnonzero(np.abs(y).sum(1)).tolist() == [1, 2, 3, 4]
  np.testing.assert_allclose(ops.downsample(jnp.full((1, 16, 16, 3), 0.3), 4), 0.3, atol=1e-6)


def test_mask_from_image():
  image = np.array([[[1, 1, 1], [-1, -1, -1], [0.1, 0.1, 0.1], [-0.1, -0.1, -0.1]],
                    [[1, -1, 1], [-1, 1, -1], [1, 1, 1], [1, 1, 1]]], np.float32)
  np.testing.assert_array_equal(ops.mask_from_image(image), [[1, 0, 1, 0], [1, 0, 1, 1]])
  np.testing.assert_array_equal(ops.mask_from_image(image[..., :1]), [[1, 0, 1, 0], [1, 0, 1, 1]])


def test_centre_pad():
  assert ops.centre_pad(13, 16) == (1, 2) and ops.centre_pad(16, 16) == (0, 0)
  assert ops.round_up(13, 4) == 16 and ops.round_up(16, 4) == 16


def test_noise_input_and_its_perturbation():
  key = jax.random.key(3)
  z = inputs.fixed_input(key, "noise", 5, (20, 30))
  assert z.shape == (1, 20, 30, 5) and z.dtype == jnp.float32
  assert 0 <= float(z.min()) and float(z.max()) < 0.1 and abs(float(z.mean()) - 0.05) < 0.005
  np.testing.assert_array_equal(z, inputs.fixed_input(key, "noise", 5, (20, 30)))
  assert float(inputs.fixed_input(key, "noise", 1, (8, 8), scale=1.0).max()) > 0.5
  step = inputs.perturbed(z, jax.random.key(4), 0.5)
  noise = np.asarray(step - z)
  assert abs(noise.std() - 0.5) < 0.02 and abs(noise.mean()) < 0.02
  assert inputs.perturbed(z, jax.random.key(4), 0) is z


def test_meshgrid_input():
  z = np.asarray(inputs.fixed_input(None, "meshgrid", 2, (3, 5)))[0]
  np.testing.assert_allclose(z[..., 0], [[0, 0.25, 0.5, 0.75, 1]] * 3)  # x = column / (W - 1)
  np.testing.assert_allclose(z[..., 1], [[0] * 5, [0.5] * 5, [1] * 5])  # y = row / (H - 1)
  with pytest.raises(ValueError):
    inputs.fixed_input(None, "meshgrid", 3, (3, 5))
