#!/usr/bin/env bash
# Small ablation on data/samples (quickstart-sized model, one seed each, train.workers=1 to share
# the machine): clustered vs hierarchical IDs, augmentation on/off, and the whole recipe.
#   bash experiments/results/samples-ablation/run.sh [OUT_DIR]
# Training only; `dsi eval` for each run is in eval.sh. Each run's log and run store go to OUT_DIR/<name>/.
set -u
cd "$(dirname "$0")/../../.."
OUT=${1:-experiments/results/samples-ablation}
AUG=(--set train.indexing_views=2 --set train.aug_crop_scale=0.5 --set train.aug_flip=0.5 --set train.aug_color_jitter=0.3 --set train.aug_erase=0.25)
train() { # name config, then --set overrides
  local name=$1 config=$2; shift 2
  mkdir -p "$OUT/$name"
  npx dsi train --config "$config" --backend wasm --set train.workers=1 --set tracking.wandb=disabled --run "$name" "$@" > "$OUT/$name/train.log" 2>&1
  cp -r "experiments/$name/." "$OUT/$name/"
}
train s-clustered quickstart.yaml
train s-hier quickstart.yaml --set data.id_scheme=hierarchical
train s-hier-aug quickstart.yaml --set data.id_scheme=hierarchical "${AUG[@]}"
train s-recipe samples-dsi.yaml
train s-semantic quickstart.yaml --set data.id_scheme=semantic
