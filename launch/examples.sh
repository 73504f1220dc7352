#!/usr/bin/env bash
# Runs SinIR's six tasks on the paper's example images and prints where each grid is.
#
#   bash launch/examples.sh DATA_DIR [cpu|paper]
#
# DATA_DIR is the release's imgs/ folder (art_st, editing, harmonization, paint_to_image,
# photo_st, super_resolution), e.g. ../shared/data/sinir_examples. The images are research-only:
# read them where they are, never copy them into this repo. Preset "cpu" (default) trains small
# nets at 128 px (minutes per task on 2 cores); "paper" uses the release's recipes (for a GPU).
# Results go to runs/examples/<task>/; rerunning continues or reuses finished models.
set -euo pipefail
data=$(cd "${1:?usage: bash launch/examples.sh DATA_DIR [cpu|paper]}" && pwd)
preset=${2:-cpu}
cd "$(dirname "$0")/.."
out=runs/examples

case $preset in
  cpu)
    small=(--max_size=128 --net_ch=32 --iters=300 --lr=5e-4)
    photo=(--img_shape=128 --net_ch=32 --iters=300 --lr=5e-4)
    sr=(--flagfile=configs/sr_cpu.cfg)
    infer_size=128 ;;
  paper)
    small=() photo=() sr=() infer_size=250 ;;
  *) echo "error: preset must be cpu or paper, got '$preset'" >&2; exit 2 ;;
esac

train() {  # train TASK IMAGE FLAGFILE [flags...] -- then the inference flags
  local task=$1 image=$2 cfg=$3
  shift 3
  echo "== $task"
  python -m sinir_jax.train --image="$data/$image" --workdir="$out/$task" --flagfile="$cfg" "$@"
}

train paint_to_image paint_to_image/aurora.jpg configs/generic.cfg "${small[@]}" \
  --infer_input="$data/paint_to_image/aurora_paint.png" --infer_img_shape=$infer_size
train editing editing/nature.jpg configs/generic.cfg "${small[@]}" \
  --infer_input="$data/editing/nature_edit.png" --infer_img_shape=$infer_size \
  --infer_task=edit --infer_mask="$data/editing/nature_mask.png"
train harmonization harmonization/harmo_target.jpg configs/generic.cfg "${small[@]}" \
  --infer_input="$data/harmonization/harmo_naive.jpg" --infer_img_shape=$infer_size \
  --infer_task=harmonization --infer_mask="$data/harmonization/harmo_mask.jpg"
train photo_st photo_st/photo_style.png configs/photo.cfg "${photo[@]}" \
  --infer_input="$data/photo_st/photo_content.png" --infer_img_shape=$infer_size
art_size=$([ "$preset" = paper ] && echo 500 || echo $infer_size)
train art_st art_st/art_style.jpg configs/art.cfg "${small[@]}" \
  --infer_input="$data/art_st/art_content.jpg" --infer_img_shape=$art_size
train super_resolution super_resolution/LR.png configs/sr.cfg "${sr[@]}" \
  --infer_input="$data/super_resolution/LR.png" --infer_sr_factor=4

echo
echo "grids:"
find "$out" -path '*/infer/*' -name grid.png | sort
