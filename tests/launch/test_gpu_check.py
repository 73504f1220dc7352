"""launch/gpu_check.sh --dry-run: every section's plumbing, on CPU, with tiny sizes."""
import json
import subprocess

from conftest import REPO

SECTIONS = {"environment", "golden", "tests", "bench_k1", "bench_k2", "train_default", "train_sr",
            "train_many_sr_batch2", "zssr", "dip_denoise", "double_dip_dehaze"}


def test_dry_run_writes_every_section(tmp_path):
  result = subprocess.run(["bash", str(REPO / "launch" / "gpu_check.sh"), "--dry-run",
                           f"--out={tmp_path}"], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  data = json.loads((tmp_path / "gpu_check.json").read_text())
  assert data["dry_run"] is True and data["errors"] == {}
  assert SECTIONS <= set(data["sections"])
  assert data["sections"]["golden"]["default"]["within_cpu_tolerance"]
  assert data["best_steps_per_call"] in (1, 2)
  k1 = data["sections"]["bench_k1"]
  assert k1["runs"][0]["steps_per_call"] == 1 and set(k1["photo_transfer_seconds"]) == {
      "entry_0", "entry_1"}
  assert data["sections"]["bench_k2"]["runs"][0]["steps_per_call"] == 2
  train = data["sections"]["train_default"]
  assert train["wall_seconds_cold"] > 0
  assert data["sections"]["train_many_sr_batch2"]["models_per_hour"] > 0
  for name in ("zssr", "dip_denoise", "double_dip_dehaze"):
    assert data["sections"][name]["wall_seconds"] > 0, name
  assert (tmp_path / "gpu_check.log").read_text().count("== ") == len(data["sections"])
