#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SageMaker's training contract in a temporary /opt/ml: hyperparameters.json with string values,
# channels train/validation holding manifest.csv, the bundle lands in model/ as model.fab (and
# `predict` answers with it); a bad hyperparameter fails the job with its reason in output/failure.
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
ml=$(mktemp -d); trap 'rm -rf "$ml"' EXIT
source "$src/tests/integration/sagemaker_tree.sh"
make_sagemaker_tree "$ml"
"$bin" --threads 1 -q train --sagemaker --sagemaker-root "$ml" > /dev/null
test -s "$ml/model/model.fab" || { echo "no model.fab in model/"; exit 1; }
grep -q best_val_mae "$ml/model/metrics.json" || { echo "no metrics.json"; exit 1; }
test ! -e "$ml/output/failure" || { echo "a successful job wrote a failure file"; exit 1; }
"$bin" -q predict --model "$ml/model/model.fab" --detector none --format csv \
  "$ml/input/data/validation/images/face_0000.png" | grep -q face_0000 || { echo "predict with model.fab failed"; exit 1; }

# A misspelt key: the job fails (exit 3, a config error) and says why in output/failure.
echo '{"train.epoch": "2"}' > "$ml/input/config/hyperparameters.json"
set +e
FACEAGE_SAGEMAKER_ROOT="$ml" "$bin" -q train --sagemaker > /dev/null 2>&1
status=$?
set -e
[ "$status" = 3 ] || { echo "expected exit 3 for a config error, got $status"; exit 1; }
grep -q "train.epoch" "$ml/output/failure" || { echo "failure file does not name the key:"; cat "$ml/output/failure"; exit 1; }
echo "sagemaker training contract: ok"
