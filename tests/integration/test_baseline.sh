#!/usr/bin/env bash
# `faceage baseline train` then `baseline predict` end to end on synthetic crops (detector none, as
# tiny_training.sh makes them): the model file is written, its manifest predictions are records that
# `faceage eval --predictions` scores better than always answering the mean age, an image without a
# face is a no_face record (never an age), and a network bundle is refused as a baseline model.
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$src/tests/support/make_synthetic_faces.py" "$work/train" --count 96 --seed 1 --size 64
/usr/bin/python3 "$src/tests/support/make_synthetic_faces.py" "$work/val" --count 32 --seed 2 --size 64

"$bin" -q --seed 3 baseline train --data "$work/train/manifest.csv" --val "$work/val/manifest.csv" \
  --out "$work/model.fabl" --cache-dir "$work/cache" --detector none --crop-size 64 --pca 32 --c-age 100 > "$work/train.txt"
cat "$work/train.txt"
grep -q "fitted on 96 of 96 crops" "$work/train.txt"
grep -q "^val: n=32 MAE" "$work/train.txt"
head -c 17 "$work/model.fabl" | grep -q "FACEAGE-BASELINE"

# Manifest predictions: CSV records named by the manifest's own paths, scored by faceage eval.
"$bin" -q baseline predict "$work/model.fabl" --manifest "$work/val/manifest.csv" -o "$work/val_pred.csv"
"$bin" -q eval --predictions "$work/val_pred.csv" --data "$work/val/manifest.csv" > "$work/eval.txt"
cat "$work/eval.txt"
grep -q "scored 32 files" "$work/eval.txt"
/usr/bin/python3 - "$work" <<'PY'
import csv, re, sys
work = sys.argv[1]
truth = {r["file"]: float(r["age"]) for r in csv.DictReader(open(work + "/val/manifest.csv"))}
train = [float(r["age"]) for r in csv.DictReader(open(work + "/train/manifest.csv"))]
rows = list(csv.DictReader(open(work + "/val_pred.csv")))
assert sorted(r["file"] for r in rows) == sorted(truth), rows[:3]
assert all(r["error"] == "" and r["gender"] in ("male", "female") for r in rows), rows[:3]
mean = sum(train) / len(train)
mae_of_mean = sum(abs(mean - a) for a in truth.values()) / len(truth)
mae = float(re.search(r"MAE ([0-9.]+)", open(work + "/eval.txt").read()).group(1))
print(f"baseline MAE {mae:.2f}, always-the-mean MAE {mae_of_mean:.2f}")
assert mae < 0.6 * mae_of_mean, (mae, mae_of_mean)
PY

# Images: a face crop gets an age; the rocket (a real detector) is a no_face record and exit 1.
set +e
"$bin" -q baseline predict "$work/model.fabl" "$work/val/images/face_0000.png" "$src/tests/fixtures/no_face/rocket.jpg" \
  --detector yunet -f jsonl > "$work/mixed.jsonl"
status=$?
set -e
[ "$status" = 1 ] || { echo "expected exit 1 (partial failure), got $status"; exit 1; }
/usr/bin/python3 - "$work/mixed.jsonl" <<'PY'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
rocket = [r for r in records if r["file"].endswith("rocket.jpg")]
assert len(rocket) == 1 and rocket[0]["error_code"] == "no_face" and "age" not in rocket[0], rocket
PY
"$bin" -q baseline predict "$work/model.fabl" "$work/val/images/face_0000.png" -f jsonl > "$work/one.jsonl"
/usr/bin/python3 -c "import json,sys; r=json.loads(open(sys.argv[1]).readline()); assert r['age'] >= 0 and r['error'] is None, r" "$work/one.jsonl"

# A network bundle is not a baseline model: a typed model error (exit 7) that says what it is.
set +e
"$bin" -q baseline predict "$src/models/default.fab" "$work/val/images/face_0000.png" 2> "$work/err.txt"
status=$?
set -e
[ "$status" = 7 ] || { echo "expected exit 7 (model), got $status"; cat "$work/err.txt"; exit 1; }
grep -q "not a faceage baseline model" "$work/err.txt"
echo "baseline train/predict/eval OK"
