"""Non-ideal x4 benchmark data: LR images made from HR ones with random anisotropic Gaussian
kernels (seeded), each kernel saved, for comparing methods that assume bicubic downscaling with
ZSSR given the true kernel.

Kernel of image i (rng seeded with (seed, i)): standard deviations ~ U(0.35, 1.0) x factor along
two axes, rotated by an angle ~ U(0, pi), on a (6 x factor + 1)-pixel square, normalised. The LR
image is the HR image (cropped to a multiple of the factor) downscaled with the kernel as ZSSR
downscales with a given one (``zssr.kernels``: the kernel shifted to bicubic's geometry,
correlation, every factor-th pixel), rounded to 8 bits.
"""
import os

import numpy as np

from sinir_jax.benchmarks.sr import pairs as pairs_lib
from sinir_jax.core import files
from sinir_jax.core import grids
from sinir_jax.core import images
from sinir_jax.core.errors import InputError
from sinir_jax.zssr import kernels


def random_kernel(rng, factor):
  """A normalised anisotropic Gaussian kernel of side 6 * factor + 1."""
  side = 6 * factor + 1
  sigmas = rng.uniform(0.35, 1.0, 2) * factor
  angle = rng.uniform(0, np.pi)
  rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
  inverse_cov = rotation @ np.diag(1 / sigmas ** 2) @ rotation.T
  grid = np.stack(np.mgrid[:side, :side], -1) - side // 2
  kernel = np.exp(-0.5 * np.einsum("...i,ij,...j->...", grid, inverse_cov, grid))
  return kernel / kernel.sum()


def degrade(hr, kernel, factor):
  """The LR image of ``hr`` ((H, W, C) in [-1, 1], sides multiples of ``factor``)."""
  size = (hr.shape[0] // factor, hr.shape[1] // factor)
  shifted = kernels.shift_kernel(kernel, factor)
  return np.asarray(kernels.downscale((hr + 1) / 2, size, shifted)) * 2 - 1


def make_dataset(hr_dir, out_dir, factor=pairs_lib.SR_FACTOR, seed=0, limit=None, report=print):
  """Writes OUT/HR/<name>_HR.png (cropped to a multiple of ``factor``), OUT/LR/<name>_LR.png,
  OUT/kernels/<name>.npy and OUT/kernels.png (every kernel). Returns the names."""
  names = sorted(f for f in os.listdir(hr_dir)
                 if os.path.splitext(f)[1].lower() in pairs_lib.IMAGE_EXTENSIONS)[:limit]
  if not names:
    raise InputError(f"--hr_dir {hr_dir!r} holds no image")
  if os.path.exists(out_dir) and os.listdir(out_dir):
    raise InputError(f"--out_dir {out_dir!r} is not empty: choose a new folder")
  done, tiles = [], []
  for i, filename in enumerate(names):
    hr = images.load_image(os.path.join(hr_dir, filename))
    h, w = hr.shape[0] // factor * factor, hr.shape[1] // factor * factor
    hr = hr[:h, :w]
    kernel = random_kernel(np.random.default_rng([seed, i]), factor)
    name = pairs_lib.HR_TAG.sub("", os.path.splitext(filename)[0])
    images.save_image(os.path.join(out_dir, "HR", f"{name}_HR.png"), hr)
    images.save_image(os.path.join(out_dir, "LR", f"{name}_LR.png"), degrade(hr, kernel, factor))
    files.write_atomic(os.path.join(out_dir, "kernels", f"{name}.npy"),
                       lambda f, k=kernel: np.save(f, k))
    tiles.append((kernel / kernel.max()) * 2 - 1)
    done.append(name)
    report(f"[{i + 1}/{len(names)}] {name}: LR {h // factor}x{w // factor}")
  images.save_image(os.path.join(out_dir, "kernels.png"),
                    grids.grid([t[..., None] for t in tiles], done, columns=min(len(done), 5)))
  return done
