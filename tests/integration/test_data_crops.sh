#!/usr/bin/env bash
# `faceage data crops` writes a manifest's aligned crops as small images with their labels and the
# pipeline that made them; a run trained on them with data.crops_of reads them as they are (no
# detector, the exported size) and its bundles record the exporting pipeline, so predict and eval
# run that pipeline on photos. Unreadable rows are listed and the rest is written (exit 1).
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$src/tests/support/make_synthetic_faces.py" "$work/train" --count 32 --seed 1 --size 64
/usr/bin/python3 "$src/tests/support/make_synthetic_faces.py" "$work/val" --count 16 --seed 2 --size 64
cat > "$work/tiny.yaml" <<YAML
seed: 5
data: {train: $work/train/manifest.csv, val: $work/val/manifest.csv, cache_dir: $work/cache, workers: 1}
face: {detector: none, crop_size: 56}
model: {arch: mobilenet_v2, age_head: distribution}
preprocess: {input_size: 32}
train: {epochs: 1, batch_size: 16, eval_batch_size: 16}
YAML
"$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$work/photos" > /dev/null

# One row whose image is not an image: listed, the others written, exit status 1 (partial).
printf 'not an image' > "$work/train/broken.png"
echo "broken.png,40,female" >> "$work/train/manifest.csv"
status=0
"$bin" --threads 1 -q data crops "$work/train/manifest.csv" --model "$work/photos/best.fab" \
    --cache-dir "$work/cache" --size 40 --format png --out "$work/crops" > "$work/crops.out" || status=$?
[ "$status" = 1 ] || { echo "expected exit 1 for a partly failed export, got $status"; cat "$work/crops.out"; exit 1; }
grep -q broken.png "$work/crops/failures.csv" || { echo "the unreadable row is not listed"; exit 1; }
/usr/bin/python3 - "$work" <<'PY'
import csv, json, sys, os

work = sys.argv[1]
rows = list(csv.DictReader(open(f"{work}/crops/manifest.csv")))
source = {r["file"]: r for r in csv.DictReader(open(f"{work}/train/manifest.csv"))}
assert len(rows) == 32, len(rows)
for r in rows:
    path = os.path.join(f"{work}/crops", r["file"])
    with open(path, "rb") as f:
        head = f.read(24)
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert (width, height) == (40, 40), (path, width, height)
# Labels travel with their crops (the written name keeps the source file's stem).
by_stem = {os.path.splitext(os.path.basename(k))[0]: v for k, v in source.items()}
for r in rows:
    stem = os.path.splitext(os.path.basename(r["file"]))[0].split("_", 1)[1]
    assert (r["age"], r["gender"]) == (by_stem[stem]["age"], by_stem[stem]["gender"]), r
pipeline = json.load(open(f"{work}/crops/face_pipeline.json"))
assert pipeline["crop_size"] == 40 and pipeline["face_pipeline"]["crop_size"] == 56, pipeline
assert pipeline["face_pipeline"]["detector"] == "none", pipeline
PY

# Trained on the export: read at 40 px, the bundle records the 56-px pipeline that made the crops
# and carries no reference profile.
"$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$work/from-crops" \
    --set data.train="$work/crops/manifest.csv" --set data.crops_of="$work/crops/face_pipeline.json" > /dev/null
"$bin" models info "$work/from-crops/best.fab" | /usr/bin/python3 -c '
import json, sys
info = json.load(sys.stdin)
face = info["face_pipeline"]
assert face["crop_size"] == 56 and face["detector"] == "none", face
# No drift reference from crops the recorded pipeline would re-detect (made on photos instead).
assert "reference_profile" not in info["metadata"], info["metadata"].keys()'
grep -rqs '"crop_size": 40' "$work"/cache/*/settings.json || { echo "the export was not read at its own size"; exit 1; }
"$bin" -q predict --model "$work/from-crops/best.fab" --format csv "$work/val/images/face_0000.png" | grep -q face_0000 \
  || { echo "predict with the crop-trained bundle failed"; exit 1; }

# A file that is not a crop export's face_pipeline.json is refused by name.
echo '{"detector": "none"}' > "$work/not-export.json"
if "$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$work/bad" \
    --set data.crops_of="$work/not-export.json" > "$work/bad.out" 2>&1; then
  echo "a face_pipeline.json without crop_size must be refused"; exit 1
fi
grep -q "not a crop export" "$work/bad.out" || { cat "$work/bad.out"; exit 1; }
echo "data crops: ok"
