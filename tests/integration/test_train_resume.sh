#!/usr/bin/env bash
# A tiny training run killed with SIGKILL mid-epoch and resumed ends with the same metrics as an
# uninterrupted run with the same seed; also a smoke test of `faceage train` end to end.
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
source "$src/tests/integration/tiny_training.sh"
make_tiny_training "$work"
run() { "$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$1"; }
run "$work/a" > /dev/null
test -s "$work/a/best.fab" && test -s "$work/a/last.fab" && test -s "$work/a/config.resolved.yaml"
[ "$(wc -l < "$work/a/metrics.jsonl")" = 3 ] || { echo "expected 3 epochs of metrics"; exit 1; }

# The same run killed with SIGKILL after step 9 (mid epoch 2; the last checkpoint was at step 8,
# so step 9 is lost and redone), then resumed by running the same command again.
set +e
FACEAGE_FAULT_KILL_AFTER_STEP=9 run "$work/b" > /dev/null 2>&1
status=$?
set -e
[ "$status" = 137 ] || { echo "expected the run to die of SIGKILL (137), got $status"; exit 1; }
grep -q '"global_step": 8' "$work/b/state/trainer.json" || { echo "expected the last checkpoint at step 8"; exit 1; }
run "$work/b" > /dev/null
/usr/bin/python3 - "$work/a/metrics.jsonl" "$work/b/metrics.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b) == 3, (len(a), len(b))
for x, y in zip(a, b):
    for key in ("train_loss", "val_loss", "val_mae", "gender_acc", "lr", "step"):
        if abs(x[key] - y[key]) > 1e-6 * max(1.0, abs(x[key])):
            sys.exit(f"epoch {x['epoch']}: {key} differs after resume: {x[key]} vs {y[key]}")
print("resume after SIGKILL reproduced the uninterrupted run:", [round(r["val_mae"], 4) for r in a])
PY
# The bundle predicts: the whole-image face on a synthetic crop.
"$bin" -q predict --model "$work/a/best.fab" --detector none --format csv "$work/val/images/face_0000.png" | grep -q face_0000

# Warm start (model.init_from): every weight comes from best.fab. With a learning rate of ~0, frozen
# BatchNorm and no augmentation, one more epoch leaves the model as it was, so its validation MAE is
# the best epoch's of run a. A bundle may be fine-tuned at another input size (its bundle records
# the new one); one whose input scaling (preprocess.mean/std) differs is refused (exit 3).
"$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$work/c" --set "model.init_from=$work/a/best.fab" \
  --set optimizer.lr=1e-12 --set train.epochs=1 --set train.batchnorm=freeze --set augment.preset=none > /dev/null
/usr/bin/python3 - "$work/a/metrics.jsonl" "$work/c/metrics.jsonl" <<'PY'
import json, sys
best = [r for r in map(json.loads, open(sys.argv[1])) if r["best"]][-1]["val_mae"]
warm = json.loads(open(sys.argv[2]).readline())["val_mae"]
assert abs(best - warm) < 1e-3, f"warm start from best.fab gave val MAE {warm}, best.fab had {best}"
print(f"warm start kept the model: val MAE {warm:.4f} (best.fab {best:.4f})")
PY
# tiny.yaml trains at 32 px; the warm start moves the model to 40.
"$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$work/e" --set "model.init_from=$work/a/best.fab" \
  --set preprocess.input_size=40 --set train.epochs=1 > /dev/null
test -s "$work/e/best.fab" || { echo "a warm start at another input size wrote no best.fab"; exit 1; }
set +e
"$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$work/d" --set "model.init_from=$work/a/best.fab" \
  --set 'preprocess.mean=[0.1, 0.2, 0.3]' > /dev/null 2>&1
status=$?
set -e
[ "$status" = 3 ] || { echo "a warm start from a bundle with other input scaling: expected exit 3, got $status"; exit 1; }
