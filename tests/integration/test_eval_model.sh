#!/usr/bin/env bash
# `faceage eval --model` end to end: runs a bundle the test builds (untrained: this checks the wiring,
# matching and failure accounting, not accuracy) over a manifest of fixtures, one of which has no face.
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fx="$src/tests/fixtures"
"$bin" -q models create --arch mobilenet_v2 --input-size 64 --out "$work/test.fab" > /dev/null
mkdir -p "$work/data/sub"
cp "$fx/astronaut.png" "$work/data/a.png"
cp "$fx/faces/astronaut_crop.jpg" "$work/data/sub/b.jpg"
cp "$fx/no_face/rocket.jpg" "$work/data/sub/c.jpg"
cat > "$work/data/manifest.csv" <<'CSV'
file,age,gender,split
a.png,45,female,test
sub/b.jpg,45,female,test
sub/c.jpg,30,male,test
a.png,45,female,train
CSV
cd "$work"
"$bin" -q eval --model test.fab --data data/manifest.csv --split test --report report > out.txt
cat out.txt
grep -q "scored 2 files (prediction files 3, matched 3, by basename 0)" out.txt
grep -q "^failed 1," out.txt
/usr/bin/python3 - report <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/model_predictions.csv")))
assert sorted(r["file"] for r in rows) == ["a.png", "sub/b.jpg", "sub/c.jpg"], rows
assert [r["error"] != "" for r in sorted(rows, key=lambda r: r["file"])] == [False, False, True], rows
m = json.load(open(sys.argv[1] + "/metrics.json"))
assert m["source"]["models"] == ["test.fab"], m["source"]
PY
# Without a report folder the answers go to a temp file that is removed; both sources at once is an error.
"$bin" -q eval --model test.fab --data data/manifest.csv --split test > /dev/null
if "$bin" -q eval --model test.fab --predictions x.csv --data data/manifest.csv 2> err.txt; then
  echo "expected --model with --predictions to fail"; exit 1
fi
grep -q "not both" err.txt
# Neither --model nor --predictions: the default model, as `faceage predict` (FACEAGE_MODEL here).
FACEAGE_MODEL="$work/test.fab" "$bin" -q eval --data data/manifest.csv --split test --report default > out.txt
grep -q "scored 2 files" out.txt
/usr/bin/python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); assert m["source"]["models"] == [sys.argv[2]], m["source"]' \
  default/metrics.json "$work/test.fab"
# An image missing when the report draws its thumbnails: one line of ours, no OpenCV warning.
cp report/model_predictions.csv preds.csv
rm data/a.png
"$bin" -q eval --predictions preds.csv --data data/manifest.csv --split test --report missing > out.txt 2> err.txt
if grep -q "imread_" err.txt; then echo "OpenCV's warning leaked"; cat err.txt; exit 1; fi
[ "$(grep -c "a.png" err.txt)" = 1 ] || { echo "expected one line naming the missing image"; cat err.txt; exit 1; }
echo ok
