#!/usr/bin/env bash
# Every shipped training config resolves with only keys the trainer knows (a misspelt key is a
# config error, exit 3), and a misspelt key is caught: the check can fail.
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
count=0
for config in "$src"/configs/train/*.yaml; do
  "$bin" -q train --config "$config" --print-config > /dev/null || { echo "config $config does not resolve"; exit 1; }
  count=$((count + 1))
done
[ "$count" -ge 4 ] || { echo "expected at least 4 training configs, found $count"; exit 1; }
set +e
message=$("$bin" -q train --config "$src/configs/train/mobilenet_v2.yaml" --set optim.lr=0.1 --print-config 2>&1)
status=$?
set -e
[ "$status" != 0 ] || { echo "a misspelt key (optim.lr) was accepted"; exit 1; }
grep -q "optim" <<< "$message" || { echo "the error does not name the key: $message"; exit 1; }
echo "$count configs resolve; misspelt key rejected (exit $status)"
