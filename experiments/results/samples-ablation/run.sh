#!/usr/bin/env bash
# Small ablation on data/samples (quickstart-sized model, one seed each, train.workers=1 to share
# the machine): clustered vs hierarchical IDs, and the whole recipe (samples-dsi.yaml, with the
# dense dual-encoder baseline). Each run: train, its corpus's BoVW index, dsi eval (full protocol),
# then its log, run store and eval report into OUT_DIR/<name>/.
#   bash experiments/results/samples-ablation/run.sh OUT_DIR RUN...   (RUN: s-clustered s-hier s-hier-aug s-recipe s-recipe-long s-recipe-select s-semantic)
set -u
cd "$(dirname "$0")/../../.."
OUT=${1:-experiments/results/samples-ablation}; shift
AUG=(--set train.indexing_views=2 --set train.aug_crop_scale=0.5 --set train.aug_flip=0.5 --set train.aug_color_jitter=0.3 --set train.aug_erase=0.25)
one() { # name config, then --set overrides
  local name=$1 config=$2; shift 2
  mkdir -p "$OUT/$name"
  [ -e "checkpoints/$name/indexing" ] || npx dsi train --config "$config" --backend wasm --set train.workers=1 --set tracking.wandb=disabled --run "$name" "$@" > "$OUT/$name/train.log" 2>&1
  local data_sets=(); local a; for a in "$@"; do [[ $a == data.* ]] && data_sets+=(--set "$a"); done
  npx dsi bovw --config "$config" "${data_sets[@]}" > "$OUT/$name/bovw.log" 2>&1
  DSI_NO_PROGRESS=1 npx dsi eval --run "$name" --protocol full --backend wasm > "$OUT/$name/eval.log" 2>&1
  cp -r "experiments/$name/." "$OUT/$name/"
}
for run in "$@"; do
  case $run in
    s-clustered) one s-clustered quickstart.yaml ;;
    s-hier) one s-hier quickstart.yaml --set data.id_scheme=hierarchical ;;
    s-hier-aug) one s-hier-aug quickstart.yaml --set data.id_scheme=hierarchical "${AUG[@]}" ;;
    s-semantic) one s-semantic quickstart.yaml --set data.id_scheme=semantic ;;
    # The recipe, shortened to fit a shared machine: 30 warm-up + at most 20 joint epochs, 10 dense epochs.
    s-recipe) one s-recipe samples-dsi.yaml --set train.retrieval_epochs=20 --set train.retrieval_patience=8 --set train.dense_epochs=10 ;;
    # s-recipe lost the index (its 30-epoch augmented warm-up reached exact-ID accuracy 0.17): the same
    # recipe with a warm-up as long as the quickstart's phase 1 (108 epochs).
    s-recipe-long) one s-recipe-long samples-dsi.yaml --set train.joint_warmup_epochs=108 --set train.retrieval_epochs=20 --set train.retrieval_patience=8 ;;
    # Warm-up until the clean index is memorised (at most 200 epochs), more indexing per query, and
    # the kept epoch chosen by val P@10 among those with IA@1 >= 0.95.
    s-recipe-select) one s-recipe-select samples-dsi.yaml --set train.joint_warmup_epochs=200 --set train.early_stop_measure=clean \
      --set train.joint_ratio=3 --set train.select_on=val_p10 --set train.select_min_ia=0.95 --set train.retrieval_epochs=20 --set train.retrieval_patience=8 ;;
  esac
done
