#!/usr/bin/env bash
# Re-creates the runs in this folder from a local Imagenette copy (no network needed):
#   bash experiments/results/reproduce.sh [IMAGENETTE_TRAIN_DIR]
# Each run: train (phase 1 + 2), its BoVW index, dsi eval (both protocols), decode latency,
# then the run store is copied here. About 35-40 min per run on a 2-core machine (wasm).
set -u
cd "$(dirname "$0")/../.."
ROOT=${1:-../shared/data/imagenette-224/train}
run() { # name, then --set overrides
  local name=$1; shift
  local sets=(--set data.source=folder --set "data.root=$ROOT" "$@")
  mkdir -p "experiments/results/$name"
  npx dsi train --config imagenette.yaml "${sets[@]}" --run "$name" > "experiments/results/$name/train.log" 2>&1
  # BoVW indexes the same corpus (same data keys, so the same corpus hash) as the run.
  local data_sets=(); for s in "${sets[@]}"; do [[ $s == data.* ]] && data_sets+=(--set "$s"); done
  npx dsi bovw --config imagenette.yaml "${data_sets[@]}" > "experiments/results/$name/bovw.log" 2>&1
  npx dsi eval --run "$name" --protocol both > "experiments/results/$name/eval.log" 2>&1
  npx tsx scripts/bench-decode.ts "$name" 1 10 100 > "experiments/results/$name/bench-decode.log" 2>&1
  cp -r "experiments/$name/." "experiments/results/$name/"
}
run imagenette-512-ref
# Phase 2 only, branched from the reference run's phase-1 checkpoint (it was run with 40 retrieval epochs).
mkdir -p experiments/results/imagenette-512-replay
npx dsi train --config imagenette.yaml --set data.source=folder --set "data.root=$ROOT" --from imagenette-512-ref \
  --run imagenette-512-replay --set train.index_replay=1 --set train.retrieval_epochs=40 \
  > experiments/results/imagenette-512-replay/train.log 2>&1 && npx dsi eval --run imagenette-512-replay --protocol both \
  > experiments/results/imagenette-512-replay/eval.log 2>&1 && cp -r experiments/imagenette-512-replay/. experiments/results/imagenette-512-replay/
run imagenette-512-replay-lr1e-4 --set train.index_replay=1 --set train.retrieval_learning_rate=0.0001
run imagenette-512-random-replay --set data.id_scheme=random --set train.index_replay=1
