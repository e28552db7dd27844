#!/usr/bin/env bash
# Issue 21's recipes on a CPU budget: the same shortened schedule for each (EPOCHS epochs on a seeded
# LIMIT-image subset of the UTKFace train split, seed 42, scored on the whole val split every epoch),
# one thread per run, PARALLEL runs at a time. The configs keep their full lengths (30 or 15 epochs);
# this measures where each recipe stands after the same small number of images, and its img/s here.
#
#   bench/recipes_short.sh [RUNS_DIR]     RUNS_DIR defaults to ~/faceage-runs/recipes21
# Environment: FACEAGE (default build/faceage, copied into RUNS_DIR/bin), EPOCHS (3), LIMIT (8000),
# PARALLEL (2), RECIPES (the names below, space-separated; default all).
# Needs the split and crop cache of bench/tune_study.sh (~/faceage-runs/utk, ~/faceage-runs/cache).
# Resumable: a finished run leaves NAME.done; an interrupted one resumes from its run directory.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-$HOME/faceage-runs/recipes21}
epochs=${EPOCHS:-3}
limit=${LIMIT:-8000}
parallel=${PARALLEL:-2}
mkdir -p "$runs/bin"
if [ ! -x "$runs/bin/faceage" ]; then cp "${FACEAGE:-build/faceage}" "$runs/bin/faceage"; fi
export FACEAGE_YUNET_MODEL=${FACEAGE_YUNET_MODEL:-$PWD/models/face}
fa=$runs/bin/faceage

declare -A config=(
  [resnet18-onecycle-scratch]=configs/train/resnet18.yaml
  # One full triangle in the run, as the config's 520-step half-cycle is for its 4-epoch-per-cycle
  # full-data runs: 3 epochs of ceil(LIMIT/64) steps, half of them up.
  [resnet18-cyclic-scratch]="configs/train/resnet18_cyclic.yaml --set schedule.step_size_up=STEPS_HALF --set schedule.step_size_down=STEPS_HALF"
  [resnet18-plateau-scratch]=configs/train/resnet18_plateau.yaml
  [resnet18-onecycle-distill]=configs/train/resnet18_distill.yaml
  [effb0-160-timm]=configs/train/efficientnet_b0_timm.yaml
)
recipes=${RECIPES:-resnet18-onecycle-scratch resnet18-onecycle-distill effb0-160-timm}

one() {  # $1 = recipe name, $2 = config, then extra arguments of faceage train
  local out=$runs/$1 config=$2
  shift 2
  [ -f "$out.done" ] && return 0
  "$fa" --threads 1 train --config "$config" --run-dir "$out" --no-profile \
    --set train.epochs="$epochs" --set data.limit_train="$limit" --set data.workers=1 "$@" \
    > "$out.log" 2>&1 && touch "$out.done"
}
export -f one; export fa runs epochs limit
steps_half=$(( (epochs * ((limit + 63) / 64) + 1) / 2 ))
for r in $recipes; do echo "$r ${config[$r]//STEPS_HALF/$steps_half}"; done |
  xargs -P "$parallel" -L 1 bash -c 'one "$@"' one
# Every recipe that has run in RUNS_DIR, not only this call's RECIPES (a subset rerun keeps the rest).
for r in "${!config[@]}"; do
  [ -f "$runs/$r/metrics.jsonl" ] || continue
  echo "== $r"; cat "$runs/$r/metrics.jsonl"
done > "$runs/summary.txt"
