"""A CI-sized benchmark run: checks the output format, not the speed."""
import json
import os
import subprocess
import sys

from sinir_jax.benchmarks import speed as bench


def test_bench_writes_table_and_json(tmp_path):
  out = tmp_path / "bench.json"
  # The persistent compilation cache, set to keep every compile: the bench must not use it.
  env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=str(tmp_path / "cache"),
             JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
  result = subprocess.run(
      [sys.executable, "-m", "sinir_jax.bench", "--sizes=26,28", "--channels=4", "--steps=1",
       "--photo_size=32", "--matmul_size=256", f"--json={out}"],
      capture_output=True, text=True, timeout=300, env=env)
  assert result.returncode == 0, result.stderr
  assert not (tmp_path / "cache").exists()  # compile_seconds are cold compiles
  assert "GFLOP/s" in result.stdout and "photo transfer" in result.stdout
  data = json.loads(out.read_text())
  assert isinstance(data["device"], str) and data["ceiling_gflops"] > 0
  assert [run["size"] for run in data["runs"]] == [26, 28]
  for run in data["runs"]:
    for key in ["size", "channels", "num_scales", "step_seconds", "train_seconds",
                "compile_seconds", "gflops", "ceiling_gflops"]:
      assert key in run, key
    assert len(run["step_seconds"]) == run["num_scales"] >= 2
    assert all(s > 0 for s in run["step_seconds"])
    assert run["train_time"] == "extrapolated"
    assert run["train_seconds"] >= run["iters"] * sum(run["step_seconds"])
  assert set(data["photo_transfer_seconds"]) == {"entry_0", "entry_1"}


def test_bench_real_training_time():
  entry = bench.bench_training(26, 4, steps=1, iters=2, precision="float32", real_train=True)
  assert entry["train_time"] == "real" and entry["train_seconds"] > 0
  assert len(entry["step_seconds"]) == entry["num_scales"]


def test_bench_bad_flags():
  result = subprocess.run([sys.executable, "-m", "sinir_jax.bench", "--sizes=abc"],
                          capture_output=True, text=True, timeout=120)
  assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
