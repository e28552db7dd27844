#!/usr/bin/env bash
# Issue 21's measurement of Bayesian tuning's gain: a gp-ei study and a random study of equal budget
# (configs/tune/utk_mbv2_budget20.yaml), then the default configuration and each study's winner
# retrained with three seeds on the same split, every run scored on the whole UTKFace val split.
# Resumable: rerun it after a kill and it continues (tune --resume; finished runs keep a .done mark).
#
#   bench/tune_study.sh [RUNS_DIR]     RUNS_DIR defaults to ~/faceage-runs/tune21
# Environment: FACEAGE (binary; default build/faceage, copied into RUNS_DIR/bin so a rebuild during
# the study cannot change it), SHARED (../shared), FINAL_EPOCHS (3), FINAL_LIMIT_TRAIN (8000),
# SEEDS ("1 2 3"), PARALLEL (2: runs at a time, one thread each).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-$HOME/faceage-runs/tune21}
shared=$(realpath "${SHARED:-../shared}")
final_epochs=${FINAL_EPOCHS:-3}
final_limit=${FINAL_LIMIT_TRAIN:-8000}
seeds=${SEEDS:-1 2 3}
parallel=${PARALLEL:-2}
utk=$HOME/faceage-runs/utk
mkdir -p "$runs/bin" "$runs/finals"

if [ ! -x "$runs/bin/faceage" ]; then cp "${FACEAGE:-build/faceage}" "$runs/bin/faceage"; fi
fa=$runs/bin/faceage
# The copy is not beside models/face/, where faceage looks for the YuNet detector by default.
export FACEAGE_YUNET_MODEL=${FACEAGE_YUNET_MODEL:-$PWD/models/face}
log() { echo "[$(date -u +%FT%TZ)] $*" | tee -a "$runs/study.log"; }

# The split every run shares (the same seed as the shipped model's, docs/model-card.md).
if [ ! -f "$utk/splits/val.csv" ]; then
  "$fa" data ingest "$shared/data/utkface/labels.csv" --format utkface-labels --out "$utk/manifest.csv"
  "$fa" data split "$utk/manifest.csv" --out "$utk/splits" --seed 42
fi
sha256sum "$utk/splits/"*.csv > "$runs/data.sha256"

# Fill the aligned-crop cache for the whole train and val splits in one process first: the cache is
# one slot file per face-pipeline setting, and two trials filling it at once would race.
if [ ! -f "$runs/warm.done" ]; then
  log "filling the crop cache"
  "$fa" train --config configs/train/mobilenet_v2.yaml --run-dir "$runs/warm" --no-profile \
    --set train.epochs=1 --set model.pretrained="$shared/weights/mobilenet_v2_imagenet.pt" > "$runs/warm.log" 2>&1
  touch "$runs/warm.done"
fi

run_study() {  # $1 = study folder name, $2... = extra tune arguments
  local dir=$runs/$1; shift
  [ -f "$dir.done" ] && return 0
  if [ -d "$dir" ]; then
    log "resume study $dir"
    "$fa" tune --resume "$dir"
  else
    log "start study $dir $*"
    "$fa" tune --config configs/tune/utk_mbv2_budget20.yaml --study-dir "$dir" "$@"
  fi
  touch "$dir.done"
}
run_study gp
run_study random --strategy random
"$fa" tune --compare "$runs/gp" "$runs/random" --out "$runs/gp_vs_random.png" | tee "$runs/compare.txt"

# Finals: each configuration x seed, the same shortened schedule, whole val split.
final() {  # $1 = name, $2 = config, $3 = seed
  local out=$runs/finals/$1-s$3
  [ -f "$out.done" ] && return 0
  # --run-dir resumes a run that a kill interrupted.
  "$fa" --threads 1 train --config "$2" --run-dir "$out" --no-profile \
    --set seed="$3" --set train.epochs="$final_epochs" --set data.limit_train="$final_limit" \
    --set data.workers=1 --set model.pretrained="$shared/weights/mobilenet_v2_imagenet.pt" \
    > "$out.log" 2>&1 && touch "$out.done"
}
export -f final; export fa runs final_epochs final_limit shared
jobs_file=$runs/finals/jobs.txt; : > "$jobs_file"
for s in $seeds; do
  echo "default configs/train/mobilenet_v2.yaml $s" >> "$jobs_file"
  echo "gp $runs/gp/best.yaml $s" >> "$jobs_file"
  echo "random $runs/random/best.yaml $s" >> "$jobs_file"
done
log "finals: $(wc -l < "$jobs_file") runs, $parallel at a time"
xargs -P "$parallel" -L 1 bash -c 'final "$0" "$1" "$2"' < "$jobs_file"
log "finals done"
for f in "$runs"/finals/*-s*/metrics.jsonl; do
  echo "$(basename "$(dirname "$f")") $(tail -n 1 "$f")"
done > "$runs/finals/summary.txt"
