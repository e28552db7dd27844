#!/usr/bin/env bash
# Data-parallel training (docs/scaling.md, "Distributed training"):
#  1. `--nproc 2` with batch B reaches the weights of one process with batch 2B (the 2B batch of
#     each step is the union of the two ranks' shards; BatchNorm frozen, since each rank normalises
#     with its own half batch, and no dropout, whose masks depend on the batch's make-up). The
#     losses agree to 1e-5; a weight may differ by a fraction of one Adam step (lr 0.002), as
#     summation-order noise in a near-zero gradient moves AdamW's early +-lr steps;
#  2. a rank killed with SIGKILL makes the job fail cleanly (no hang), and --resume continues it to
#     the weights of the uninterrupted 2-process run.
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
source "$src/tests/integration/tiny_training.sh"
make_tiny_training "$work" 1 0 2 freeze
export FACEAGE_DIST_TIMEOUT_S=60
run() { timeout 300 "$bin" --threads 1 -q train --config "$work/tiny.yaml" "$@" > /dev/null; }

run --run-dir "$work/one"
run --run-dir "$work/two" --nproc 2 --set train.batch_size=8
/usr/bin/python3 "$src/tests/support/compare_bundles.py" "$work/one/last.fab" "$work/two/last.fab" --atol 5e-4 --rtol 0
/usr/bin/python3 - "$work/one/metrics.jsonl" "$work/two/metrics.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b) == 2, (len(a), len(b))
assert "world_size" not in a[0] and b[0]["world_size"] == 2, b[0]
for x, y in zip(a, b):
    for key in ("train_loss", "val_loss", "val_mae", "step"):
        if abs(x[key] - y[key]) > 1e-5 * max(1.0, abs(x[key])):
            sys.exit(f"epoch {x['epoch']}: {key} differs between 1x16 and 2x8: {x[key]} vs {y[key]}")
print("2 processes x batch 8 = 1 process x batch 16:", [round(r["val_mae"], 4) for r in b],
      "all-reduce s/step", [round(r["allreduce_seconds_per_step"], 5) for r in b])
PY

# Rank 1 dies of SIGKILL after step 5 (the last checkpoint was at step 4): the job fails within
# the time limit, and resuming it ends where the uninterrupted run did.
set +e
start=$SECONDS
FACEAGE_FAULT_KILL_AFTER_STEP=5 FACEAGE_FAULT_KILL_RANK=1 run --run-dir "$work/killed" --nproc 2 --set train.batch_size=8 2> "$work/killed.log"
status=$?
set -e
# The launcher reports the first worker to end: rank 1 (137), or rank 0 if it noticed first.
[ "$status" = 137 ] || grep -q "distributed training, rank 0" "$work/killed.log" ||
  { echo "expected the job to fail with the killed rank's status 137, got $status"; cat "$work/killed.log"; exit 1; }
failed_after=$((SECONDS - start))
[ "$failed_after" -lt 120 ] || { echo "the job took $failed_after s to notice the dead rank"; exit 1; }
grep -q '"global_step": 4' "$work/killed/state/trainer.json" || { echo "expected the last checkpoint at step 4"; exit 1; }
run --resume "$work/killed" --nproc 2
/usr/bin/python3 "$src/tests/support/compare_bundles.py" "$work/two/last.fab" "$work/killed/last.fab" --atol 1e-6 --rtol 1e-5
echo "a killed rank failed the job (run included) in $failed_after s; --resume reproduced the uninterrupted run"
