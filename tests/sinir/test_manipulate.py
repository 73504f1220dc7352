import numpy as np
import pytest

import sinir_jax as sj
from sinir_jax.sinir import cascade
from sinir_jax.sinir import masks
from conftest import smooth_image

TINY = sj.Config(min_size=12, max_size=24, scale_factor=0.7, net_ch=8, iters=6, log_every=3)


@pytest.fixture(scope="module")
def model():
  return sj.train(smooth_image(30, 40), TINY, report=lambda _: None)


def test_every_entry_scale_gives_the_finest_size(model):
  image = smooth_image(26, 35, seed=3)
  results = model.manipulate_all(image)
  assert len(results) == model.num_scales >= 3
  for result in results:
    assert result.shape == image.shape
    assert float(np.abs(result).max()) <= 1.0
  np.testing.assert_array_equal(model.manipulate(image, -1), results[-1])
  np.testing.assert_array_equal(model.manipulate(image, 0), results[0])
  resized = model.manipulate(image, 1, img_shape=20)
  assert resized.shape == (14, 20, 3)  # floor(26 * 20 / 35)


def test_batch_runs_as_one_call_and_matches_single(model):
  batch = np.stack([smooth_image(26, 35, seed=s) for s in range(3)])
  out = model.manipulate(batch, 0)
  assert out.shape == batch.shape
  for i in range(3):  # batched convs round differently: float32 noise through 4 nets
    np.testing.assert_allclose(out[i], model.manipulate(batch[i], 0), atol=1e-4)


def test_bad_entry_and_channels(model):
  with pytest.raises(sj.InputError, match="out of range"):
    model.manipulate(smooth_image(26, 35), model.num_scales)
  with pytest.raises(sj.InputError, match="out of range"):
    model.manipulate(smooth_image(26, 35), -model.num_scales - 1)
  with pytest.raises(sj.InputError, match="1 channel"):
    model.manipulate(smooth_image(26, 35, channels=1), 0)


def test_mask_blend_exact_where_mask_is_zero(model):
  image = smooth_image(90, 120, seed=5)
  mask = -np.ones((90, 120, 1), np.float32)
  mask[40:50, 55:65] = 1.0
  out = np.asarray(model.manipulate(image, -2, mask=mask, mask_task="edit"))
  soft = masks.prepare_mask(mask, "edit", (90, 120))
  assert soft.min() == 0.0 and soft.max() == 1.0
  zero = soft[..., 0] == 0
  assert zero.mean() > 0.3
  np.testing.assert_array_equal(out[zero], image[zero])
  assert np.abs(out[~zero] - image[~zero]).max() > 1e-3
  harmonized = masks.prepare_mask(mask, "harmonization", (90, 120))
  assert (harmonized > 0).sum() > (soft > 0).sum()  # radius 20 dilates more than 7
  with pytest.raises(sj.InputError, match="no white pixel"):
    model.manipulate(image, 0, mask=-np.ones((90, 120, 1), np.float32), mask_task="edit")


def test_use_last_net_only_uses_the_finest_net(model):
  image = smooth_image(26, 35, seed=2)
  out = model.manipulate(image, 0, use_last_net_only=True)
  levels = model.pyramid(image)
  sizes = [lv.shape[:2] for lv in levels]
  expected = cascade.run_cascade(model.net, [model.params[-1]] * model.num_scales,
                                 levels[0][None], sizes[1:] + [None], model.config.interp)[0]
  np.testing.assert_array_equal(out, expected)
  assert np.abs(np.asarray(out) - np.asarray(model.manipulate(image, 0))).max() > 1e-4


def test_super_resolution_size_and_x2_model_serves_x4():
  lr = smooth_image(20, 30, seed=4)
  config = TINY.replace(task="sr", num_scales=2, sr_factor=2, interp="matlab", iters=3)
  model = sj.train(lr, config, report=lambda _: None)
  assert model.super_resolve(lr, 2).shape == (40, 60, 3)
  assert model.super_resolve(lr, 4).shape == (80, 120, 3)
  assert model.super_resolve(lr, 2.5).shape == (50, 75, 3)
  with pytest.raises(sj.InputError, match="sr_factor"):
    model.super_resolve(lr, 1.0)
  # Back-projection makes the result consistent with the LR image (as ZSSR's test time does).
  plain, projected = (model.super_resolve(lr, 2, back_projection_iters=k) for k in (0, 5))
  error = lambda hr: float(np.abs(np.asarray(sj.resize(hr, (20, 30), "matlab")) - lr).mean())
  assert error(projected) < 0.5 * error(plain)
  assert float(np.abs(projected).max()) <= 1.0


def _edges(image):
  grey = np.asarray(image).mean(-1)
  return np.hypot(*np.gradient(grey)).ravel()


def test_photo_preset_keeps_the_inputs_structure():
  style = smooth_image(40, 40, seed=10)
  content = np.clip(np.flipud(smooth_image(40, 40, seed=11)).T.transpose(1, 2, 0)[..., ::-1]
                    * 1.2, -1, 1)
  content = np.ascontiguousarray(np.transpose(content, (1, 0, 2)))
  config = sj.Config(task="photo", net_ch=16, iters=60, lr=2e-3, log_every=60)
  model = sj.train(style, config, report=lambda _: None)
  for entry in (0, 1):
    out = model.manipulate(content, entry)
    with_content = np.corrcoef(_edges(out), _edges(content))[0, 1]
    with_style = np.corrcoef(_edges(out), _edges(style))[0, 1]
    assert with_content > 0.5 and with_content > with_style + 0.3, (with_content, with_style)


def test_fused_program_computes_the_staged_cascade(model):
  image = smooth_image(26, 35, seed=6)
  staged = model.manipulate_all(image, fused=False)
  fused = model.manipulate_all(image, fused=True)
  for a, b in zip(staged, fused, strict=True):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)
  lr = smooth_image(10, 12, seed=7)
  np.testing.assert_allclose(np.asarray(model.super_resolve(lr, 2, fused=True)),
                             np.asarray(model.super_resolve(lr, 2, fused=False)), atol=1e-5)
