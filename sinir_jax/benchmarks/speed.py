"""Speed of SinIR training and inference on this machine's default JAX device
(``python -m sinir_jax.bench`` runs it).

For each square size (the paper's Table 1 settings: default scales, 500 steps per scale) it
times full training steps (frozen cascade + update of the trained net) at every scale, and
reports per-scale step time, the full training time, compile time, achieved GFLOP/s next to the
float32 (or bfloat16) matmul rate measured in the same run, and peak memory; then the latency of
a 1024x1024 photo-realistic transfer (factor 1, 2 scales). GFLOP/s counts the direct
convolutions' flops: on CPU the 3x3 convs run as Winograd's F(2x2, 3x3) with 2.25x fewer
multiplies, so there it is an effective rate that can pass the matmul rate.

The training time is real (``sj.train`` timed end to end, compiles included) on accelerators and
extrapolated on CPU (``iters`` x the timed step per scale, plus compile time), where a real run
takes hours; ``--train_time`` overrides the choice.
"""
import itertools
import platform
import resource
import statistics
import time

import jax
import jax.numpy as jnp

from sinir_jax.core import images
from sinir_jax.core import resampling
from sinir_jax.sinir import cascade
from sinir_jax.sinir import config as config_lib
from sinir_jax.sinir import network
from sinir_jax.sinir import scale_loop
from sinir_jax.sinir import trainer



def _median_seconds(fn, repeats):
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def matmul_gflops(n, dtype, repeats=5):
  """The machine's own ceiling: GFLOP/s of a jitted n x n matmul in ``dtype``."""
  a = jax.random.normal(jax.random.key(0), (n, n), dtype)
  matmul = jax.jit(lambda x: x @ x)
  jax.block_until_ready(matmul(a))
  return 2 * n ** 3 / _median_seconds(lambda: matmul(a), repeats) / 1e9


def net_flops(h, w, features, channels):
  """Multiply-adds x 2 of one ScaleNet forward at (h, w), its convs counted as direct ones."""
  half = features // 2
  per_pixel = channels * half + half * features + 6 * 9 * features * features + (
      features * half + half * channels)
  return 2 * h * w * per_pixel


def step_flops(sizes, scale, features, channels):
  """One training step at ``scale``: frozen forwards below it, forward + backward (~2x) of it."""
  frozen = sum(net_flops(h, w, features, channels) for h, w in sizes[:scale])
  return frozen + 3 * net_flops(*sizes[scale], features, channels)


def peak_memory_bytes():
  """Peak device memory where the backend reports it, else this process's peak RSS."""
  stats = jax.devices()[0].memory_stats() or {}
  if "peak_bytes_in_use" in stats:
    return int(stats["peak_bytes_in_use"]), "device"
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "host RSS"


def bench_training(size, channels, steps, iters, precision, real_train, steps_per_call=1):
  """Times every scale's training step (the trainer's own stepper, ``steps_per_call`` steps a
  call) for a square ``size`` image, and with ``real_train`` the whole training run."""
  image = resampling.resize(images.load_image(images.DEFAULT_IMAGE), (size, size), "pytorch")
  config = config_lib.Config(max_size=size, net_ch=channels, iters=iters, precision=precision,
                             steps_per_call=steps_per_call)
  levels, plan = trainer.prepare(image, config)
  job = scale_loop.Job(config, report=lambda line: None)
  model = scale_loop.ModelRun("bench", image, plan, levels)
  params = network.init_params(jax.random.key(0), channels, model.channels)
  step_seconds, compile_seconds = [], 0.0
  for scale in range(plan.num_scales):
    model.finished = [params] * scale
    stepper = trainer.Stepper(job, model, (params, job.optimizer.init(params)), scale)
    starts = itertools.count(0, steps_per_call)

    def call():
      stepper.advance(next(starts), steps_per_call)
      return stepper.take_losses()  # a host copy: waits for the call to finish

    first = _median_seconds(call, 1)
    per_call = _median_seconds(call, steps)
    compile_seconds += max(first - per_call, 0.0)
    step_seconds.append(per_call / steps_per_call)
  flops = [step_flops(plan.sizes, s, channels, levels[0].shape[-1])
           for s in range(plan.num_scales)]
  train_seconds = iters * sum(step_seconds) + compile_seconds
  if real_train:
    start = time.perf_counter()
    trainer.train(image, config, report=lambda line: None)
    train_seconds = time.perf_counter() - start
  return {
      "size": size, "channels": channels, "num_scales": plan.num_scales,
      "sizes": [list(s) for s in plan.sizes], "precision": precision, "iters": iters,
      "steps_per_call": steps_per_call,
      "step_seconds": step_seconds,
      "train_seconds": train_seconds,
      "train_time": "real" if real_train else "extrapolated",
      "compile_seconds": compile_seconds,
      "gflops": flops[-1] / step_seconds[-1] / 1e9,
      "gflops_mean": iters * sum(flops) / (iters * sum(step_seconds)) / 1e9,
  }


def bench_photo_transfer(side, channels, precision, repeats=3):
  """Latency of manipulating a side x side image with a photo model (factor 1, 2 scales)."""
  config = config_lib.Config(task="photo", net_ch=channels, precision=precision)
  params = network.init_params(jax.random.key(0), channels, 3)
  model = cascade.Model((params, params), config, 1.0, ((side, side),) * 2, 3)
  image = jax.random.uniform(jax.random.key(1), (side, side, 3), minval=-1, maxval=1)
  latency = {}
  for entry in (0, 1):
    jax.block_until_ready(model.manipulate(image, entry))
    latency[f"entry_{entry}"] = _median_seconds(lambda: model.manipulate(image, entry), repeats)
  return latency


def run(sizes, channels, steps, iters, precision, photo_size, matmul_size, train_time="auto",
        steps_per_call=1, report=print):
  """Runs the whole benchmark and returns its JSON-ready results."""
  real_train = train_time == "real" or (train_time == "auto" and jax.default_backend() != "cpu")
  dtype = jnp.dtype(precision)
  results = {
      "device": f"{jax.devices()[0].device_kind} ({jax.default_backend()}, "
                f"{jax.device_count()} device(s)); host {platform.processor() or platform.machine()}",
      "jax_version": jax.__version__,
      "ceiling_gflops": matmul_gflops(matmul_size, dtype),
      "runs": [],
  }
  report(f"device: {results['device']}")
  report(f"matmul ceiling ({precision}, {matmul_size}^2): {results['ceiling_gflops']:.1f} GFLOP/s")
  for size in sizes:
    entry = bench_training(size, channels, steps, iters, precision, real_train, steps_per_call)
    entry["ceiling_gflops"] = results["ceiling_gflops"]
    results["runs"].append(entry)
    report(_row(entry))
  if photo_size:
    results["photo_transfer_seconds"] = bench_photo_transfer(photo_size, channels, precision)
    results["photo_size"] = photo_size
    report(f"photo transfer {photo_size}x{photo_size}: " + ", ".join(
        f"{k} {v * 1e3:.1f} ms" for k, v in results["photo_transfer_seconds"].items()))
  memory, kind = peak_memory_bytes()
  results["peak_memory_bytes"], results["peak_memory_kind"] = memory, kind
  report(f"peak memory ({kind}): {memory / 2 ** 30:.2f} GiB")
  return results


def _row(entry):
  steps = " ".join(f"{s * 1e3:.0f}" for s in entry["step_seconds"])
  return (f"{entry['size']} px, {entry['num_scales']} scales, {entry['channels']} ch, "
          f"{entry['steps_per_call']} step(s) per call: step ms per scale [{steps}]; train {entry['train_seconds']:.0f} s {entry['train_time']} (compile "
          f"{entry['compile_seconds']:.1f} s); finest {entry['gflops']:.1f} GFLOP/s = "
          f"{100 * entry['gflops'] / entry['ceiling_gflops']:.0f}% of matmul")
