#!/usr/bin/env bash
# The default face pipeline end to end: the shipped YuNet (models/face, no ../shared), every face
# of several sizes in one photo, no guesses on blank, noise or tiny images (no_face), a tight crop
# still answered, and the README's main command with the default model says `detector`.
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fx="$src/tests/fixtures"
unset FACEAGE_YUNET_MODEL FACEAGE_MODEL

# face detect: the default detector is yunet and finds the four astronauts of faces/sizes.jpg.
"$bin" -q face detect "$fx/faces/sizes.jpg" > "$work/sizes.jsonl"
/usr/bin/python3 - "$work/sizes.jsonl" "$fx/faces/sizes.json" <<'PY'
import json, sys
line = json.loads(open(sys.argv[1]).read())
layout = json.load(open(sys.argv[2]))
faces = line["faces"]
for expected in layout["faces"]:
    x, y, w, h = expected["crop_box"]
    hits = [f for f in faces if x <= f["box"][0] + f["box"][2] / 2 <= x + w and y <= f["box"][1] + f["box"][3] / 2 <= y + h]
    assert len(hits) == 1 and hits[0]["source"] == "detector", (expected, faces)
PY

# Images that hold no face: blank, noise, 1x1, 4x4 (crop-shaped or not) are no_face records.
/usr/bin/python3 - "$work" <<'PY'
import sys
import numpy as np
from PIL import Image
out = sys.argv[1]
rng = np.random.default_rng(1)
Image.new("RGB", (200, 200), (255, 255, 255)).save(f"{out}/blank.png")
Image.new("RGB", (448, 448), (90, 120, 150)).save(f"{out}/grey.png")
Image.fromarray(rng.integers(0, 256, (200, 200, 3), dtype=np.uint8)).save(f"{out}/noise.png")
Image.new("RGB", (1, 1), (128, 100, 90)).save(f"{out}/one.png")
Image.new("RGB", (4, 4), (128, 100, 90)).save(f"{out}/four.png")
PY
"$bin" -q models create --arch mobilenet_v2 --input-size 64 --out "$work/test.fab" > /dev/null
set +e
"$bin" -q predict --model "$work/test.fab" --format jsonl "$work"/{blank,grey,noise,one,four}.png \
  "$fx/faces/astronaut_crop.jpg" > "$work/records.jsonl"
status=$?
set -e
[ "$status" = 1 ] || { echo "expected exit code 1 (some files failed), got $status"; cat "$work/records.jsonl"; exit 1; }
/usr/bin/python3 - "$work/records.jsonl" <<'PY'
import json, os, sys
by_file = {os.path.basename(r["file"]): r for r in map(json.loads, open(sys.argv[1]))}
for name in ("blank.png", "grey.png", "noise.png", "one.png", "four.png"):
    assert by_file[name]["error_code"] == "no_face", by_file[name]
crop = by_file["astronaut_crop.jpg"]
assert crop["error"] is None and crop["face_source"] in ("detector", "padded_retry", "crop_fallback"), crop
PY

# The README's main command, with the shipped default model: one face, found by the detector.
if [ -f "$src/models/default.fab" ]; then
  "$bin" -q predict "$src/samples/astronaut.png" --format jsonl > "$work/readme.jsonl"
  /usr/bin/python3 - "$work/readme.jsonl" <<'PY'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
assert len(records) == 1 and records[0]["face_source"] == "detector", records
PY
fi
echo "face sources ok"
