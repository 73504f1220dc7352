"""The non-ideal kernel data (sinir_jax.degrade): seeded anisotropic kernels, saved, applied as
ZSSR applies a given kernel."""
import subprocess
import sys

import numpy as np
import pytest

import sinir_jax as sj
from conftest import REPO, smooth_image
from sinir_jax.benchmarks.sr import degrade
from sinir_jax.zssr import kernels


def _degrade(*args):
  return subprocess.run([sys.executable, "-m", "sinir_jax.degrade", *args], capture_output=True,
                        text=True, timeout=300, cwd=REPO)


@pytest.fixture(scope="module")
def hr_dir(tmp_path_factory):
  folder = tmp_path_factory.mktemp("hr")
  for seed, size in enumerate(((50, 42), (40, 40))):  # 50x42: cropped to 48x40
    sj.save_image(folder / f"img_00{seed + 1}_SRF_4_HR.png", smooth_image(*size, seed=seed))
  return folder


def test_random_kernels_are_normalised_anisotropic_and_seeded():
  ks = [degrade.random_kernel(np.random.default_rng([0, i]), 4) for i in range(4)]
  for k in ks:
    assert k.shape == (25, 25) and k.sum() == pytest.approx(1.0) and k.min() >= 0
    assert np.unravel_index(k.argmax(), k.shape) == (12, 12)  # centred
    assert np.abs(k - np.rot90(k)).max() > 0.01 * k.max()  # anisotropic: rotated, another kernel
  assert not np.allclose(ks[0], ks[1])
  np.testing.assert_array_equal(ks[0], degrade.random_kernel(np.random.default_rng([0, 0]), 4))


def test_cli_writes_pairs_and_kernels_repeatably_and_refuses_bad_input(tmp_path, hr_dir):
  out = tmp_path / "out"
  result = _degrade(f"--hr_dir={hr_dir}", f"--out_dir={out}", "--seed=3")
  assert result.returncode == 0, result.stderr
  assert "wrote 2 LR images" in result.stdout and (out / "kernels.png").exists()
  hr = sj.load_image(out / "HR" / "img_001_SRF_4_HR.png")
  lr = sj.load_image(out / "LR" / "img_001_SRF_4_LR.png")
  kernel = np.load(out / "kernels" / "img_001_SRF_4.npy")
  assert hr.shape == (48, 40, 3) and lr.shape == (12, 10, 3)
  np.testing.assert_array_equal(kernel, degrade.random_kernel(np.random.default_rng([3, 0]), 4))
  expected = kernels.downscale((hr + 1) / 2, (12, 10), kernels.shift_kernel(kernel, 4))
  np.testing.assert_allclose((lr + 1) / 2, np.asarray(expected), atol=0.5 / 255 + 1e-6)
  again = _degrade(f"--hr_dir={hr_dir}", f"--out_dir={tmp_path / 'again'}", "--seed=3")
  assert again.returncode == 0, again.stderr
  np.testing.assert_array_equal(sj.load_image(tmp_path / "again" / "LR" / "img_001_SRF_4_LR.png"),
                                lr)
  for args, message in (([f"--hr_dir={hr_dir}", f"--out_dir={out}"], "is not empty"),
                        ([f"--hr_dir={tmp_path / 'none'}", f"--out_dir={tmp_path / 'x'}"],
                         "is not a folder"),
                        ([f"--hr_dir={hr_dir}"], "pass --hr_dir=HR and --out_dir=DIR")):
    bad = _degrade(*args)
    assert bad.returncode == 2 and message in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
  assert len(list((out / "LR").iterdir())) == 2  # the refused rerun wrote nothing
