#!/usr/bin/env bash
# A study whose space or fixed values name a key the trainer does not know is refused before any
# trial runs (it once searched `optim.lr`, which every trial silently ignored).
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
study() {  # $1: space key, $2: fixed key
  cat > "$work/study.yaml" <<YAML
study: {name: keys, metric: val_mae, mode: min, trials: 2, strategy: random, seed: 1}
base_config: $src/configs/train/mobilenet_v2.yaml
fixed: {$2: 1}
space:
  $1: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
YAML
}
expect_refused() {  # $1: key the error must name
  set +e
  message=$("$bin" -q tune --config "$work/study.yaml" --study-dir "$work/study" 2>&1)
  status=$?
  set -e
  [ "$status" != 0 ] || { echo "study with '$1' was accepted"; exit 1; }
  grep -q "$1" <<< "$message" || { echo "error does not name '$1': $message"; exit 1; }
  [ ! -e "$work/study" ] || { echo "a refused study left a study directory"; exit 1; }
}
study optim.lr train.epochs;      expect_refused "'optim'"
study optimizer.lr train.epoch;   expect_refused "'train.epoch'"
echo "misspelt study keys refused before any trial"
