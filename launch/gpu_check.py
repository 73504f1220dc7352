"""The one-shot accelerator check that launch/gpu_check.sh runs (read that script's header).

Each section writes its figures into one JSON (rewritten after every section, so a run cut
short keeps what it measured) and its output into the log; a failing section records its error
and the others go on. --dry-run runs every section with tiny sizes (on CPU, in about 2 minutes)
to check the plumbing.
"""
import argparse
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import jax
import jax.numpy as jnp
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(REPO, "tests", "golden")
# CPU tolerances of the golden tests (tests/sinir/test_network.py, test_loss.py, test_trainer.py).
TOLERANCES = {"network_forward": 1e-5, "loss": 1e-5, "train_step_losses": 1e-4}

# What each section runs, full-size and in --dry-run.
SIZES = {
    False: dict(bench_sizes="125,250", bench_steps=5, channels=128, k_candidates=(10, 50),
                photo=1024, train_size=250, train_iters=500, sr_size=(80, 120),
                sr_iters=1000, many_images=8, many_iters=1000, many_batches=(1, 8),
                dip_size=512, haze_size=None, zssr_flags=[], dip_flags=[], double_flags=[]),
    True: dict(bench_sizes="26", bench_steps=1, channels=4, k_candidates=(2,), photo=32,
               train_size=20, train_iters=2, sr_size=(16, 24), sr_iters=2, many_images=2,
               many_iters=2, many_batches=(2,), dip_size=24,
               haze_size=(16, 24),
               zssr_flags=["--sr_factor=2", "--width=4", "--depth=2", "--crop_size=16",
                           "--max_iters=2", "--back_projection_iters=1", "--output_flip=false"],
               dip_flags=["--iters=2", "--net_down=4,4", "--net_up=4,4", "--net_skip=2,2",
                          "--input_depth=2", "--snapshot_every=0"],
               double_flags=["--iters=2", "--iters2=2", "--net_down=4", "--net_up=4",
                             "--net_skip=2", "--input_depth=2"]),
}


class Check:
  """The JSON results, the log and the sections' bookkeeping."""

  def __init__(self, out, dry_run):
    self.out, self.dry_run = out, dry_run
    self.sizes = SIZES[dry_run]
    self.results = {"dry_run": dry_run, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "sections": {}, "errors": {}}
    self.log_file = open(os.path.join(out, "gpu_check.log"), "a", encoding="utf-8")
    self.work = tempfile.mkdtemp(prefix="gpu_check_")

  def log(self, text):
    print(text, flush=True)
    self.log_file.write(text + "\n")
    self.log_file.flush()

  def save(self):
    from sinir_jax.core import files  # pylint: disable=import-outside-toplevel
    files.write_json(os.path.join(self.out, "gpu_check.json"), self.results)

  @contextlib.contextmanager
  def section(self, name):
    start = time.perf_counter()
    self.log(f"== {name}")
    try:
      yield self.results["sections"].setdefault(name, {})
    except Exception as e:  # pylint: disable=broad-except
      self.results["errors"][name] = f"{type(e).__name__}: {e}"
      self.log(traceback.format_exc())
    finally:
      self.results["sections"][name]["seconds"] = round(time.perf_counter() - start, 2)
      self.save()

  def run(self, args, env=None, timeout=600):
    """A command's wall time and output (logged); raises if it fails."""
    self.log("$ " + " ".join(args))
    start = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=REPO,
                            env=dict(os.environ, PYTHONPATH=REPO, **(env or {})))
    seconds = time.perf_counter() - start
    self.log(result.stdout[-4000:] + result.stderr[-4000:])
    if result.returncode:
      raise RuntimeError(f"exit {result.returncode}: {result.stderr.strip()[-300:]}")
    return seconds, result.stdout


def environment(check):
  with check.section("environment") as r:
    r["device"] = f"{jax.devices()[0].device_kind} ({jax.default_backend()})"
    r["device_count"] = jax.device_count()
    r["host"] = platform.processor() or platform.machine()
    r["python"] = platform.python_version()
    for name in ("jax", "jaxlib", "flax", "optax", "orbax.checkpoint", "dm_pix", "numpy"):
      module = __import__(name, fromlist=["_"])
      r[name] = getattr(module, "__version__", "?")
    if shutil.which("nvidia-smi"):
      r["nvidia_smi"] = subprocess.run(
          ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
          capture_output=True, text=True, check=False).stdout.strip()
    check.log(json.dumps(r))


def _release_params(data, prefix):
  import sinir_jax as sj  # pylint: disable=import-outside-toplevel
  return sj.params_from_torch({k[len(prefix) + 1:]: data[k] for k in data
                               if k.startswith(prefix + "/")})


def golden_errors():
  """The largest deviations from the release's golden values, in this process's precision."""
  import sinir_jax as sj  # pylint: disable=import-outside-toplevel
  from sinir_jax.sinir import steps  # pylint: disable=import-outside-toplevel
  errors = {}
  data = np.load(os.path.join(GOLDEN, "network_forward.npz"))
  out = sj.ScaleNet(32, 3).apply(_release_params(data, "param"), jnp.asarray(data["x"])[None])
  errors["network_forward"] = float(np.abs(np.asarray(out[0]) - data["y"]).max())
  data = np.load(os.path.join(GOLDEN, "loss.npz"))
  loss = sj.sinir_loss(jnp.asarray(data["a"])[None], jnp.asarray(data["b"])[None])
  errors["loss"] = abs(float(loss) - float(data["loss"]))
  data = np.load(os.path.join(GOLDEN, "train_steps.npz"))
  config = sj.Config(net_ch=16, lr=1e-3, iters=4, shuffle_p=0.0)
  net, optimizer = sj.ScaleNet(16, 3), steps.make_optimizer(config)
  step = steps.make_train_step(net, optimizer)
  levels = [jnp.asarray(data["img0"])[None], jnp.asarray(data["img1"])[None]]
  losses = []
  for scale, params, frozen in ((0, _release_params(data, "init"), ()),
                                (1, _release_params(data, "scale0_final"),
                                 (_release_params(data, "scale0_final"),))):
    opt_state = optimizer.init(params)
    for t in range(4):
      x = steps.cascade_input(net, frozen, levels, [(18, 24), (24, 32)], "pytorch",
                              steps.step_key(jax.random.key(0), scale, t), 0.0)
      params, opt_state, loss = step(params, opt_state, x, levels[scale])
      losses.append(float(loss))
  errors["train_step_losses"] = float(np.abs(np.array(losses) - data["losses"]).max())
  return errors


def golden(check):
  with check.section("golden") as r:
    for precision in ("default",) if check.dry_run else ("default", "highest"):
      with jax.default_matmul_precision(None if precision == "default" else "highest"):
        errors = golden_errors()
      r[precision] = {"max_abs_error": errors,
                      "within_cpu_tolerance": all(errors[k] <= TOLERANCES[k] for k in errors)}
      check.log(f"{precision}: {json.dumps(r[precision])}")
    r["cpu_tolerances"] = TOLERANCES


def tests(check):
  with check.section("tests") as r:
    if importlib.util.find_spec("pytest") is None:
      r["skipped"] = "pytest is not installed here (the golden section checks parity)"
      return
    files = ["tests/sinir/test_network.py", "tests/sinir/test_loss.py", "tests/core/test_conv.py",
             "tests/sinir/test_trainer.py"]
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files]
    if check.dry_run:
      args.append("--collect-only")
    for precision in ("default",) if check.dry_run else ("default", "highest"):
      env = {} if precision == "default" else {"JAX_DEFAULT_MATMUL_PRECISION": "highest"}
      try:
        seconds, output = check.run(args, env=env, timeout=300)
        r[precision] = {"passed": True, "summary": output.strip().splitlines()[-1],
                        "seconds": round(seconds, 1)}
      except RuntimeError as e:
        r[precision] = {"passed": False, "summary": str(e)}


def _bench(check, name, args):
  path = os.path.join(check.work, f"{name}.json")
  check.run([sys.executable, "-m", "sinir_jax.bench", f"--json={path}", *args], timeout=900)
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def bench(check):
  s = check.sizes
  common = [f"--channels={s['channels']}", f"--steps={s['bench_steps']}"]
  if check.dry_run:
    common += ["--matmul_size=256"]
  with check.section("bench_k1") as r:  # with the photo transfer
    r.update(_bench(check, "k1", [f"--sizes={s['bench_sizes']}", "--steps_per_call=1",
                                  f"--photo_size={s['photo']}", "--train_time=extrapolated",
                                  *common]))
  best = (1, _finest_train_estimate(check.results["sections"]["bench_k1"]))
  for k in s["k_candidates"]:
    with check.section(f"bench_k{k}") as r:
      r.update(_bench(check, f"k{k}", [f"--sizes={s['bench_sizes'].split(',')[-1]}",
                                       f"--steps_per_call={k}", "--photo_size=0",
                                       "--train_time=extrapolated", *common]))
      estimate = _finest_train_estimate(r)
      if estimate < best[1]:
        best = (k, estimate)
  check.results["best_steps_per_call"] = best[0]
  check.log(f"best steps_per_call: {best[0]}")


def _finest_train_estimate(bench_json):
  """Extrapolated seconds of the largest size's training (iters x per-step times)."""
  run = bench_json["runs"][-1]
  return run["iters"] * sum(run["step_seconds"])


def training(check):
  """Real trainings with the CLI: cold (compiling) and again with the compilation cache warm."""
  s, k = check.sizes, check.results.get("best_steps_per_call", 1)
  image = os.path.join(REPO, "sinir_jax", "assets", "default.png")
  cache = os.path.join(check.work, "jax_cache")
  env = {"JAX_COMPILATION_CACHE_DIR": cache, "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
  with check.section("train_default") as r:
    args = [sys.executable, "-m", "sinir_jax.train", f"--image={image}",
            f"--max_size={s['train_size']}", f"--net_ch={s['channels']}",
            *([f"--min_size={s['train_size'] // 2}", "--scale_factor=0.5"] if check.dry_run
              else []),
            f"--iters={s['train_iters']}", f"--steps_per_call={k}", "--log_every=50"]
    cold, _ = check.run(args + [f"--workdir={check.work}/train_cold"], env=env, timeout=900)
    r.update({"size": s["train_size"], "iters": s["train_iters"], "steps_per_call": k,
              "wall_seconds_cold": round(cold, 2)})
    if not check.dry_run:  # the same again, every program now in the compilation cache
      warm, _ = check.run(args + [f"--workdir={check.work}/train_warm"], env=env, timeout=900)
      r.update({"wall_seconds_warm_cache": round(warm, 2), "compile_seconds": round(cold - warm, 2)})
  lr_dir = os.path.join(check.work, "lr")
  _sr_images(lr_dir, s["many_images"], s["sr_size"])
  sr_flags = ["--flagfile=configs/sr.cfg", f"--iters={s['sr_iters']}", f"--steps_per_call={k}"]
  if check.dry_run:  # the recipe's first resize (to 120 px) and its 256 channels
    sr_flags += [f"--net_ch={s['channels']}", f"--img_shape={max(s['sr_size'])}"]
  with check.section("train_sr") as r:
    seconds, _ = check.run([sys.executable, "-m", "sinir_jax.train",
                            f"--image={lr_dir}/lr0.png", f"--workdir={check.work}/sr", *sr_flags],
                           env=env, timeout=900)
    r.update({"image": f"{s['sr_size'][0]}x{s['sr_size'][1]}", "wall_seconds": round(seconds, 2),
              "flags": sr_flags})
  for batch in s["many_batches"]:
    with check.section(f"train_many_sr_batch{batch}") as r:
      count = batch if batch > 1 else 2
      images = [f"--images={lr_dir}/lr{i}.png" for i in range(count)]
      seconds, _ = check.run([sys.executable, "-m", "sinir_jax.train_many", *images,
                              f"--workdir={check.work}/many{batch}",
                              f"--batch_per_device={batch}", *sr_flags],
                             env=env, timeout=900)
      r.update({"models": count, "batch_per_device": batch, "wall_seconds": round(seconds, 2),
                "models_per_hour": round(3600 * count / seconds, 1)})


def methods(check):
  """Seconds per image of the other methods' CLIs with their official settings: ZSSR x4 (the
  paper's recipe) on a BSD100-sized LR image, DIP denoising (3000 steps of the 5x128 net) at
  the F16 image's 512 px, Double-DIP dehazing (one pass of 4000 steps) on the bundled photo
  (171x256), each with the SinIR bench's best steps per call where the CLI has the flag."""
  import sinir_jax as sj  # pylint: disable=import-outside-toplevel
  from sinir_jax.dip import measure  # pylint: disable=import-outside-toplevel
  s, k = check.sizes, check.results.get("best_steps_per_call", 1)
  out = os.path.join(check.work, "methods")
  _sr_images(out, 1, s["sr_size"])
  photo = sj.load_image(sj.DEFAULT_IMAGE)
  clean = np.asarray(sj.resize(photo[:, :photo.shape[0]], (s["dip_size"],) * 2, "matlab"))
  sj.save_image(os.path.join(out, "clean.png"), clean)
  sj.save_image(os.path.join(out, "noisy.png"), measure.add_noise(clean, 25, 0))
  sj.save_image(os.path.join(out, "photo.png"), np.asarray(
      sj.resize(photo, s["haze_size"], "matlab")) if s["haze_size"] else photo)
  cli = {
      "zssr": ["sinir_jax.zssr", f"--image={out}/lr0.png", "--sr_factor=4",
               f"--output={out}/zssr.png", f"--steps_per_call={k}", *s["zssr_flags"]],
      "dip_denoise": ["sinir_jax.dip", "--task=denoise", f"--image={out}/noisy.png",
                      f"--reference={out}/clean.png", f"--output={out}/dip.png",
                      f"--steps_per_call={k}", *s["dip_flags"]],
      "double_dip_dehaze": ["sinir_jax.double_dip", "--task=dehaze",
                            f"--image={out}/photo.png", f"--output_dir={out}/dehaze",
                            *s["double_flags"]],
  }
  for name, args in cli.items():
    with check.section(name) as r:
      seconds, _ = check.run([sys.executable, "-m", *args], timeout=420)
      r.update({"wall_seconds": round(seconds, 2), "args": args[1:]})


def _sr_images(folder, count, size):
  """BSD100-sized LR images (crops of the bundled photo, resized), for the SR sections."""
  import sinir_jax as sj  # pylint: disable=import-outside-toplevel
  photo = sj.load_image(sj.DEFAULT_IMAGE)
  for i in range(count):
    crop = photo[(i * 7) % 40:, (i * 13) % 80:]
    sj.save_image(os.path.join(folder, f"lr{i}.png"), np.asarray(sj.resize(crop, size, "matlab")))


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--dry-run", action="store_true", help="tiny sizes, to check the plumbing")
  parser.add_argument("--out", default=os.path.join(REPO, "gpu_check_out"),
                      help="folder of gpu_check.json and gpu_check.log")
  args = parser.parse_args()
  os.makedirs(args.out, exist_ok=True)
  check = Check(args.out, args.dry_run)
  start = time.perf_counter()
  try:
    for step in (environment, golden, tests, bench, training, methods):
      step(check)
  finally:
    check.results["total_seconds"] = round(time.perf_counter() - start, 1)
    check.save()
    shutil.rmtree(check.work, ignore_errors=True)
  check.log(f"wrote {os.path.join(args.out, 'gpu_check.json')} "
            f"({len(check.results['errors'])} section(s) failed)")
  return 1 if check.results["errors"] else 0


if __name__ == "__main__":
  sys.exit(main())
