#!/usr/bin/env bash
# deploy/dask/predict_dask.py on a local Dask cluster of 2 worker processes: a manifest cut into
# partitions, each piped through `faceage predict --stdin` on a worker, the outputs gathered in
# order. Every input must come back exactly once, and the gathered file must equal one
# `faceage predict --stdin` over the whole list. Skips (77) without python3-distributed.
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
py=/usr/bin/python3  # Debian's python3-distributed, not a virtualenv's python
"$py" -c 'import distributed' 2> /dev/null || { echo "skip: python3-distributed is not installed"; exit 77; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fx="$src/tests/fixtures"
"$bin" -q models create --arch mobilenet_v2 --input-size 64 --out "$work/test.fab" > /dev/null

# A manifest (files relative to its folder) of 27 rows: images repeated, one missing, one not an image.
mkdir -p "$work/data/img"
cp "$fx/faces/astronaut_crop.jpg" "$work/data/img/a.jpg"
cp "$fx/bad/quadrants.png" "$work/data/img/b.png"
cp "$fx/bad/quadrants.gif" "$work/data/img/c.gif"
{
  echo "file,age,gender"
  for i in $(seq 1 12); do echo "img/a.jpg,30,male"; echo "img/b.png,40,female"; done
  echo "img/c.gif,20,"
  echo "img/missing.jpg,50,"
  echo "img/a.jpg,30,male"
} > "$work/data/manifest.csv"

start=$(date +%s)
set +e
timeout 300 "$py" "$src/deploy/dask/predict_dask.py" "$work/data/manifest.csv" --out "$work/dask.jsonl" \
  --local-workers 2 --partition-size 5 --faceage "$bin" --faceage-threads 1 \
  -- --model "$work/test.fab" --detector none --batch-size 1 \
  2> "$work/dask.err"
status=$?
set -e
echo "dask run: $(($(date +%s) - start)) s, exit $status; $(tail -1 "$work/dask.err")"
[ "$status" = 1 ] || { echo "expected exit 1 (two failed images)"; cat "$work/dask.err"; exit 1; }
grep -q "27 images in 6 partitions, 27 records, 2 failed" "$work/dask.err" || { cat "$work/dask.err"; exit 1; }

# The same list through one faceage process: the gathered output must be identical, byte for byte
# (batches of one image and one thread on both sides, so float summation order cannot differ).
"$py" - "$work/data/manifest.csv" > "$work/paths.txt" <<'PY'
import csv, os, sys
base = os.path.dirname(os.path.abspath(sys.argv[1]))
for row in csv.DictReader(open(sys.argv[1])):
    print(os.path.join(base, row["file"]))
PY
set +e
"$bin" -q --threads 1 predict --stdin --model "$work/test.fab" --detector none --batch-size 1 < "$work/paths.txt" > "$work/one.jsonl"
set -e
cmp "$work/dask.jsonl" "$work/one.jsonl" || { echo "the Dask output differs from one predict --stdin"; exit 1; }

# Every input exactly once, in order, with valid records.
"$py" - "$work/dask.jsonl" "$work/paths.txt" <<'PY'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
paths = open(sys.argv[2]).read().splitlines()
assert [r["file"] for r in records] == paths, "one record per input (detector none: one face per image), in order"
for r, p in zip(records, paths):
    if p.endswith("c.gif"):
        assert r["face"] is None and r["error_code"] == "unsupported_media_type", r
    elif p.endswith("missing.jpg"):
        assert r["face"] is None and r["error_code"] == "not_found", r
    else:
        assert r["face"] == 0 and r["error"] is None and 0 <= r["age_low"] <= r["age"] <= r["age_high"] <= 100, r
PY
[ ! -e "$work/dask.jsonl.tmp" ] && ! ls "$work"/dask.jsonl.tmp.* > /dev/null 2>&1
echo "ok"
