#!/usr/bin/env bash
# `faceage predict` end to end on the public-domain astronaut photo and on the bad-input corpus,
# with a bundle the test builds (untrained: this checks the pipeline and the records, not accuracy).
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fx="$src/tests/fixtures"
"$bin" -q models create --arch mobilenet_v2 --input-size 64 --out "$work/test.fab" > /dev/null

# One face on the astronaut; the CSV header is exactly the documented one; --annotate writes a picture.
"$bin" -q predict --model "$work/test.fab" --format csv --annotate "$work/annotated" "$fx/astronaut.png" > "$work/one.csv"
head -1 "$work/one.csv" | grep -qx 'file,face,x,y,w,h,age,age_low,age_high,gender,gender_prob,p_minor,quality,unreliable,error'
[ "$(wc -l < "$work/one.csv")" = 2 ] || { echo "expected one face on the astronaut"; cat "$work/one.csv"; exit 1; }
/usr/bin/python3 - "$work/one.csv" <<'PY'
import csv, sys
row = next(csv.DictReader(open(sys.argv[1])))
assert row["error"] == "", row
x, y, w, h = (float(row[k]) for k in "xywh")
# The astronaut's face is around (180-270, 80-175) in the 512x512 photo.
assert 150 < x + w / 2 < 300 and 60 < y + h / 2 < 200, row
age, low, high = float(row["age"]), float(row["age_low"]), float(row["age_high"])
assert 0 <= low <= age <= high <= 100, row
assert row["gender"] in ("male", "female") and 0.5 <= float(row["gender_prob"]) <= 1, row
assert 0 <= float(row["p_minor"]) <= 1 and 0 <= float(row["quality"]) <= 1 and row["unreliable"] in ("0", "1"), row
PY
ls "$work/annotated"/astronaut*.jpg > /dev/null

# A batch with bad inputs: every file gets records, failures carry an error, the batch goes on,
# and the exit code says some files failed (1). A folder's GIF gets an error record naming the
# format; a file that is no image is counted as skipped in the summary, never dropped silently.
mkdir -p "$work/folder"
cp "$fx/bad/quadrants.gif" "$work/folder/photo.gif"  # its own name: bad/ holds a quadrants.gif too
cp "$fx/faces/astronaut_crop.jpg" "$work/folder/crop.dat"  # an image without an image extension
echo "notes" > "$work/folder/notes.txt"
set +e
"$bin" predict --model "$work/test.fab" --format jsonl "$fx/bad" "$work/folder" "$fx/no_face" "$fx/faces/group.jpg" "$fx/astronaut.png" > "$work/batch.jsonl" 2> "$work/batch.err"
status=$?
set -e
grep -q "1 skipped (not images)" "$work/batch.err" && grep -q "skipped: .*notes.txt" "$work/batch.err" \
  || { echo "expected the skipped text file in the summary"; cat "$work/batch.err"; exit 1; }
[ "$status" = 1 ] || { echo "expected exit code 1 for a batch with failures, got $status"; exit 1; }
/usr/bin/python3 - "$work/batch.jsonl" "$fx" <<'PY'
import json, os, sys
records = [json.loads(line) for line in open(sys.argv[1])]
by_file = {}
for r in records:
    by_file.setdefault(os.path.basename(r["file"]), []).append(r)
def error_of(name):
    rs = by_file[name]
    assert len(rs) == 1 and rs[0]["error"], (name, rs)
    return rs[0]["error_code"]
assert error_of("empty.jpg") == "unreadable_image"
assert error_of("truncated.jpg") == "unreadable_image"
assert error_of("random_bytes.jpg") == "unreadable_image"
assert error_of("huge_dims.png") == "too_large"
assert error_of("huge_dims.jpg") == "too_large"
assert error_of("quadrants.gif") == "unsupported_media_type"
assert "GIF" in by_file["quadrants.gif"][0]["error"], by_file["quadrants.gif"]
assert error_of("photo.gif") == "unsupported_media_type"
assert by_file["crop.dat"][0]["error"] is None, by_file["crop.dat"]
assert "notes.txt" not in by_file
assert error_of("rocket.jpg") == "no_face"
group = by_file["group.jpg"]
assert len(group) >= 2 and all(r["error"] is None for r in group), group
# Largest face first, so face 0 is the main subject.
assert [r["face"] for r in group] == list(range(len(group))), group
assert [r["w"] * r["h"] for r in group] == sorted((r["w"] * r["h"] for r in group), reverse=True), group
assert by_file["astronaut.png"][0]["error"] is None
astronaut = by_file["astronaut.png"][0]
assert 0 <= astronaut["p_minor"] <= 1 and astronaut["minor_gate"] == 18 and astronaut["p_minor_calibrated"] is False, astronaut
assert 0 < astronaut["quality"]["score"] <= 1 and astronaut["unreliable"] is False, astronaut
# Every input file produced at least one record.
expected = set(os.listdir(os.path.join(sys.argv[2], "bad")))
missing = [f for f in expected if f not in by_file and not f.endswith(".py")]
assert not missing, missing
print(f"{len(records)} records from {len(by_file)} files")
PY

# --refuse-unreliable: an image whose faces are all below the quality threshold is an error record
# (no_face naming the quality threshold, exit 1), not a number; --minor-gate moves the gate.
set +e
"$bin" -q predict --model "$work/test.fab" --format jsonl --unreliable-below 1.5 --refuse-unreliable "$fx/astronaut.png" > "$work/refused.jsonl"
status=$?
set -e
[ "$status" = 1 ] || { echo "expected exit code 1 for a refused image, got $status"; exit 1; }
grep -q '"error_code":"no_face"' "$work/refused.jsonl" && grep -q 'quality below the threshold' "$work/refused.jsonl" || { cat "$work/refused.jsonl"; exit 1; }
"$bin" -q predict --model "$work/test.fab" --format jsonl --minor-gate 13 --unreliable-below 1.5 "$fx/astronaut.png" > "$work/gate13.jsonl"
grep -q '"minor_gate":13.0' "$work/gate13.jsonl" && grep -q '"unreliable":true' "$work/gate13.jsonl" \
  || { cat "$work/gate13.jsonl"; exit 1; }

# A model without a gender head: the gender fields are null (JSON) and empty (CSV), never a guess.
"$bin" -q models create --arch mobilenet_v2 --input-size 64 --no-gender-head --out "$work/nogender.fab" > /dev/null
"$bin" -q predict --model "$work/nogender.fab" --format jsonl "$fx/astronaut.png" > "$work/nogender.jsonl"
"$bin" -q predict --model "$work/nogender.fab" --format csv "$fx/astronaut.png" > "$work/nogender.csv"
/usr/bin/python3 - "$work/nogender.jsonl" "$work/nogender.csv" <<'PY'
import csv, json, sys
record = json.loads(open(sys.argv[1]).readline())
assert record["error"] is None and record["age"] is not None, record
assert record["gender"] is None and record["gender_prob"] is None and record["female_prob"] is None, record
row = next(csv.DictReader(open(sys.argv[2])))
assert row["gender"] == "" and row["gender_prob"] == "", row
PY

# Precision: bfloat16 and float32 both answer for the same face with close ages (bf16 rounding
# only); an unknown precision is a usage error naming the choices, before any work.
for precision in float32 bfloat16; do
  "$bin" -q predict --model "$work/test.fab" --format csv --precision $precision "$fx/astronaut.png" > "$work/$precision.csv"
done
/usr/bin/python3 - "$work/float32.csv" "$work/bfloat16.csv" <<'PY'
import csv, sys
a, b = (next(csv.DictReader(open(p))) for p in sys.argv[1:])
assert a["error"] == b["error"] == "" and (a["x"], a["y"]) == (b["x"], b["y"]), (a, b)
assert abs(float(a["age"]) - float(b["age"])) < 1.0, (a["age"], b["age"])
PY
set +e
"$bin" -q predict --model "$work/test.fab" --precision half "$fx/astronaut.png" > /dev/null 2> "$work/precision.err"
status=$?
set -e
[ "$status" != 0 ] && grep -q 'available: auto, bfloat16, float32' "$work/precision.err" \
  || { echo "--precision half: expected an error listing the choices (exit $status)"; cat "$work/precision.err"; exit 1; }

# An ensemble file answers like its bundles given as two --model flags; one packed with --no-flip
# records flip off, so without --flip/--no-flip it matches the pair run with --no-flip, and --flip
# overrides it. Usage errors exit 2.
"$bin" -q models create --arch mobilenet_v2 --input-size 64 --out "$work/test2.fab" > /dev/null
"$bin" -q models ensemble "$work/test.fab" "$work/test2.fab" --no-flip --out "$work/pair.fab" > /dev/null
"$bin" -q predict --model "$work/pair.fab" --format csv --precision float32 "$fx/astronaut.png" > "$work/packed.csv"
"$bin" -q predict --model "$work/test.fab" --model "$work/test2.fab" --no-flip --format csv --precision float32 \
  "$fx/astronaut.png" > "$work/listed.csv"
cmp "$work/packed.csv" "$work/listed.csv" || { echo "ensemble file and listed bundles disagree"; paste -d'\n' "$work/packed.csv" "$work/listed.csv"; exit 1; }
"$bin" -q models info "$work/pair.fab" | /usr/bin/python3 -c '
import json, sys
info = json.load(sys.stdin)
assert info["format"] == "faceage-ensemble" and info["test_time_flip"] is False and len(info["members"]) == 2, info'
"$bin" -q predict --model "$work/pair.fab" --flip --format csv --precision float32 "$fx/astronaut.png" > "$work/packed-flip.csv"
"$bin" -q predict --model "$work/test.fab" --model "$work/test2.fab" --format csv --precision float32 \
  "$fx/astronaut.png" > "$work/listed-flip.csv"
cmp "$work/packed-flip.csv" "$work/listed-flip.csv" || { echo "--flip on an ensemble file differs from the listed bundles"; exit 1; }
for usage in "models ensemble $work/test.fab --out $work/one.fab" "predict --no-such-flag $fx/astronaut.png" \
             "predict --flip --no-flip --model $work/pair.fab $fx/astronaut.png"; do
  set +e
  # shellcheck disable=SC2086
  "$bin" -q $usage > /dev/null 2>&1
  status=$?
  set -e
  [ "$status" = 2 ] || { echo "'$usage': expected usage error 2, got $status"; exit 1; }
done
echo "ok"
