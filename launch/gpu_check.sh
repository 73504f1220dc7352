#!/usr/bin/env bash
# One-shot accelerator check: about 8-10 minutes on one H100/H200 (an estimate: not yet run on
# one), from a copy of the repo.
#
#   bash launch/gpu_check.sh [--dry-run] [--out=DIR]
#
# 1. Installs what is missing of sinir_jax's dependencies, from the wheels in launch/wheels/
#    (or $SINIR_WHEELS) when the machine has no network, else from PyPI. The lent GPU machine
#    has jax (CUDA), flax, optax, orbax, matplotlib and numpy but not dm-pix; carry its wheel:
#      pip download dm-pix==0.4.5 --no-deps -d launch/wheels
#    (launch/wheels/ is ignored by git). sinir_jax itself runs from the repo (PYTHONPATH).
# 2. Runs launch/gpu_check.py, which writes DIR/gpu_check.json and DIR/gpu_check.log (default
#    DIR: gpu_check_out/): the device; the golden parity errors with the default float32
#    precision (TF32 on recent NVIDIA GPUs) and with "highest"; the golden and training tests on
#    the device (if pytest is there); python -m sinir_jax.bench at 125 and 250 px with one step
#    per call and with K steps per call, the best K kept; a 1024x1024 photo transfer; the real
#    250 px default training (500 steps x 11 scales) cold and with the compilation cache warm
#    (their difference: compile time); one BSD100-sized SR training with configs/sr.cfg; and
#    train_many SR models per hour at batch 1 and batch 8; then seconds per image of the other
#    methods' CLIs with their official settings (ZSSR x4 on a BSD100-sized image, DIP denoising
#    at 512 px, Double-DIP dehazing), last, so a run cut short keeps SinIR's figures.
# --dry-run runs the same sections with tiny sizes (CPU, about 2 minutes): CI checks the plumbing.
# In Colab (a GPU runtime): !pip install -e ".[cuda12]" && bash launch/gpu_check.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
wheels=${SINIR_WHEELS:-$repo/launch/wheels}
python=${PYTHON:-python}

missing=($("$python" - <<'PY'
import importlib.util
needed = {"jax": "jax", "flax": "flax", "optax": "optax", "orbax": "orbax-checkpoint",
          "dm_pix": "dm-pix", "PIL": "pillow", "scipy": "scipy", "imageio": "imageio",
          "absl": "absl-py", "matplotlib": "matplotlib"}
print(" ".join(p for m, p in needed.items() if importlib.util.find_spec(m) is None))
PY
))
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  if [ -d "$wheels" ]; then
    "$python" -m pip install -q --no-index --find-links="$wheels" "${missing[@]}"
  else
    "$python" -m pip install -q "${missing[@]}"
  fi
fi
cd "$repo"
case " $* " in
  *" --dry-run "*)  # a plumbing check: compile fast rather than well
    export XLA_FLAGS="${XLA_FLAGS:-} --xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true" ;;
esac
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$python" launch/gpu_check.py "$@"
