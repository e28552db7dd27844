#!/usr/bin/env bash
# A step that trains the gender head alone (loss.age_weight=0, so val MAE cannot tell its epochs
# apart): early_stopping.metric=gender_acc keeps the epoch of highest validation gender accuracy as
# best.fab, and says so; without a gender head the key is a config error (exit 3). Such a step from
# a trained bundle may give the gender head a hidden layer (model.gender_hidden): the bundle's other
# weights are copied, and with the backbone frozen every age answer stays the bundle's.
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
source "$src/tests/integration/tiny_training.sh"
make_tiny_training "$work" 1 0.1 4
# A learning rate at which the gender accuracy of the tiny set moves from epoch to epoch.
"$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$work/run" --set loss.age_weight=0 \
  --set loss.gender_weight=1 --set optimizer.lr=0.01 --set ema.enabled=false --set early_stopping.metric=gender_acc \
  > "$work/out.txt"
grep -q "chosen by gender_acc" "$work/out.txt" || { echo "the summary does not say what chose the epoch:"; cat "$work/out.txt"; exit 1; }
/usr/bin/python3 - "$work" <<'PY'
import json, subprocess, sys, os
work = sys.argv[1]
lines = [json.loads(l) for l in open(f"{work}/run/metrics.jsonl")]
accs = [l["gender_acc"] for l in lines]
best = max(range(len(accs)), key=lambda i: (accs[i], -i))  # the first epoch of highest accuracy
flagged = [i for i, l in enumerate(lines) if l["best"]]
assert len(set(accs)) > 1, f"the accuracy never moved, so nothing was chosen: {accs}"
assert flagged[-1] == best, (accs, flagged)
info = json.loads(subprocess.check_output([os.environ["FACEAGE_BIN"], "-q", "models", "info", f"{work}/run/best.fab"]))
assert abs(info["metadata"]["val_gender_acc"] - accs[best]) < 1e-9, (info["metadata"]["val_gender_acc"], accs)
print("gender accuracy per epoch", accs, "-> best.fab is epoch", best + 1)
PY
set +e
message=$("$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$work/bad" --set model.gender_head=false \
  --set loss.gender_weight=0 --set early_stopping.metric=gender_acc 2>&1)
status=$?
set -e
[ "$status" = 3 ] || { echo "gender_acc without a gender head should be a config error (exit 3), got $status: $message"; exit 1; }
grep -q "early_stopping.metric" <<< "$message" || { echo "the error does not name the key: $message"; exit 1; }

"$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$work/mlp" --set model.init_from="$work/run/best.fab" \
  --set model.gender_hidden=8 --set loss.age_weight=0 --set loss.gender_weight=1 --set optimizer.weight_decay=0 \
  --set train.freeze_backbone_epochs=2 --set train.batchnorm=freeze --set train.epochs=2 --set ema.enabled=false \
  --set early_stopping.metric=gender_acc > /dev/null
for model in run mlp; do
  "$bin" --threads 1 -q predict --model "$work/$model/best.fab" --no-flip --precision float32 --format csv \
    "$work"/val/images/face_000*.png > "$work/$model.csv"
done
/usr/bin/python3 - "$work" <<'PY'
import csv, json, subprocess, sys, os
work = sys.argv[1]
info = json.loads(subprocess.check_output([os.environ["FACEAGE_BIN"], "-q", "models", "info", f"{work}/mlp/best.fab"]))
assert info["model_options"]["gender_hidden"] == 8, info["model_options"]
before = list(csv.DictReader(open(f"{work}/run.csv")))
after = list(csv.DictReader(open(f"{work}/mlp.csv")))
assert len(before) == len(after) == 10, (len(before), len(after))
for a, b in zip(before, after):
    assert a["file"] == b["file"] and abs(float(a["age"]) - float(b["age"])) < 1e-3, (a, b)
print("gender head with a hidden layer trained; ages unchanged on", len(after), "faces")
PY
