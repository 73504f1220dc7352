"""SinIR's reconstruction loss: MSE + (1 - SSIM) (spec section 5)."""
import dm_pix
import jax
import jax.numpy as jnp

SSIM_WINDOW = 11


def ssim_window(h, w):
  """The SSIM window for an (h, w) image: 11, or the largest odd size that fits."""
  side = min(SSIM_WINDOW, h, w)
  return side if side % 2 else side - 1


def sinir_loss(pred, target):
  """MSE + (1 - SSIM) of two batches of images in [-1, 1].

  Args:
    pred, target: (N, H, W, C) arrays in [-1, 1].

  Returns:
    A scalar: the MSE on [-1, 1] values plus 1 - SSIM, where SSIM is computed on images mapped
    to [0, 1] (Gaussian window 11, sigma 1.5, valid filtering, K = (0.01, 0.03)), each image and
    channel's mean SSIM clamped at 0, then averaged. Images smaller than 11 px use the largest
    odd window that fits (dm_pix silently gives wrong values for windows larger than the image).
  """
  mse = jnp.mean(jnp.square(pred - target))
  window = ssim_window(*pred.shape[1:3])
  ssim_map = dm_pix.ssim((pred + 1) / 2, (target + 1) / 2, max_val=1.0,
                         filter_size=window, filter_sigma=1.5, return_map=True)
  per_channel = jax.nn.relu(jnp.mean(ssim_map, axis=(1, 2)))
  return mse + 1.0 - jnp.mean(per_channel)
