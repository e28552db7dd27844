#!/usr/bin/env bash
# `faceage predict --stdin`: one path per line in, JSON lines out (the shape of Spark's RDD.pipe,
# xargs and SageMaker Batch Transform). Checks the records per line against `predict PATH...`,
# errors as records with exit code 1, a record out before stdin is closed, and flat memory over a
# long stream. An untrained bundle: this checks the stream, not accuracy.
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fx="$src/tests/fixtures"
"$bin" -q models create --arch mobilenet_v2 --input-size 64 --out "$work/test.fab" > /dev/null

# 1. Records per line, in input order; failures are records (not_found, unsupported_media_type,
# unreadable_image), an empty line is skipped, CRLF is accepted, and the batch goes on (exit 1).
good=("$fx/astronaut.png" "$fx/faces/group.jpg" "$fx/faces/astronaut_crop.jpg" "$fx/bad/quadrants.gif" "$fx/bad/empty.jpg")
{
  printf '%s\n' "$fx/astronaut.png" "$work/missing.jpg" "$fx/faces/group.jpg" ""
  printf '%s\r\n' "$fx/faces/astronaut_crop.jpg"
  printf '%s\n' "$fx/bad/quadrants.gif" "$fx/bad/empty.jpg"
} > "$work/list.txt"
set +e
"$bin" predict --stdin --model "$work/test.fab" < "$work/list.txt" > "$work/stream.jsonl" 2> "$work/stream.err"
status=$?
set -e
[ "$status" = 1 ] || { echo "expected exit code 1 for a stream with failures, got $status"; cat "$work/stream.err"; exit 1; }
grep -q "6 image(s), .* face(s), 3 failed" "$work/stream.err" || { echo "unexpected summary"; cat "$work/stream.err"; exit 1; }
# The same images as arguments: the stream's records are exactly `predict --format jsonl`'s.
set +e
"$bin" -q predict --model "$work/test.fab" --format jsonl "${good[@]}" > "$work/paths.jsonl"
set -e
/usr/bin/python3 - "$work/stream.jsonl" "$work/paths.jsonl" "$work/missing.jpg" "$fx" <<'PY'
import json, sys
stream = [json.loads(line) for line in open(sys.argv[1])]
paths = [json.loads(line) for line in open(sys.argv[2])]
missing, fx = sys.argv[3], sys.argv[4]
# One group of records per input line, in order (a new image starts at face 0 or null).
groups = []
for r in stream:
    if r["face"] in (None, 0):
        groups.append([])
    groups[-1].append(r)
files = [g[0]["file"] for g in groups]
assert files == [fx + "/astronaut.png", missing, fx + "/faces/group.jpg", fx + "/faces/astronaut_crop.jpg",
                 fx + "/bad/quadrants.gif", fx + "/bad/empty.jpg"], files
assert all(r["file"] == g[0]["file"] for g in groups for r in g), "an image's records are consecutive"
assert [r["face"] for r in groups[0]] == [0] and groups[0][0]["error"] is None, groups[0]
assert len(groups[2]) >= 2 and all(r["error"] is None for r in groups[2]), "several faces in the group photo"
for g, code in ((groups[1], "not_found"), (groups[4], "unsupported_media_type"), (groups[5], "unreadable_image")):
    assert len(g) == 1 and g[0]["face"] is None and g[0]["error"] and g[0]["error_code"] == code, g
assert [r for r in stream if r["file"] != missing] == paths, "the stream's records differ from predict PATH..."
PY

# Exit code 0 when every image succeeds; csv works as a line format too (one header).
printf '%s\n' "$fx/faces/astronaut_crop.jpg" "$fx/astronaut.png" | "$bin" -q predict --stdin --model "$work/test.fab" --format csv > "$work/ok.csv"
[ "$(wc -l < "$work/ok.csv")" = 3 ] && [ "$(grep -c '^file,face' "$work/ok.csv")" = 1 ] || { cat "$work/ok.csv"; exit 1; }
# Usage errors: paths and --stdin together, or --stdin with --output (exit 2).
set +e
"$bin" -q predict --stdin "$fx/astronaut.png" < /dev/null > /dev/null 2>&1; both=$?
"$bin" -q predict --stdin --output "$work/x.jsonl" < /dev/null > /dev/null 2>&1; output=$?
set -e
[ "$both" = 2 ] && [ "$output" = 2 ] || { echo "expected usage errors (2), got $both and $output"; exit 1; }
# No input at all (an empty partition): no records, exit 0.
"$bin" -q predict --stdin --model "$work/test.fab" < /dev/null > "$work/empty.jsonl"
[ ! -s "$work/empty.jsonl" ]

# 2. Flushed per image: with stdin still open, the first image's record can be read; then the
# second. A run that buffered its output or waited for a full batch would time out here.
coproc FACEAGE { exec "$bin" -q predict --stdin --model "$work/test.fab"; }
echo "$fx/faces/astronaut_crop.jpg" >&"${FACEAGE[1]}"
read -r -t 120 first <&"${FACEAGE[0]}" || { echo "no record within 120 s while stdin stays open"; kill "$FACEAGE_PID"; exit 1; }
echo "$work/missing.jpg" >&"${FACEAGE[1]}"
read -r -t 60 second <&"${FACEAGE[0]}" || { echo "no second record while stdin stays open"; kill "$FACEAGE_PID"; exit 1; }
pid=$FACEAGE_PID
exec {FACEAGE[1]}>&-
set +e
wait "$pid"; status=$?
set -e
[ "$status" = 1 ] || { echo "expected exit 1 after the missing file, got $status"; exit 1; }
/usr/bin/python3 -c '
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["face"] == 0 and a["error"] is None, a
assert b["error_code"] == "not_found", b' "$first" "$second"

# 3. Constant memory: 2,000 lines take no more memory than 200. A run that kept decoded images,
# crops or tensors across batches would grow by >= 100 MB over 1,800 more 512x512 images; the
# bound allows allocator noise. (Holding only the ~1 kB records would stay under it: too small
# to measure this way.)
lines() { for ((i = 0; i < $1; i += 4)); do
  printf '%s\n' "$fx/astronaut.png" "$fx/faces/astronaut_crop.jpg" "$fx/bad/quadrants.png" "$work/missing.jpg"; done; }
peak_kb() {
  lines "$1" > "$work/lines$1.txt"
  set +e
  /usr/bin/time -v -o "$work/time$1.txt" "$bin" -q --threads 2 predict --stdin --detector none --no-flip --model "$work/test.fab" \
    < "$work/lines$1.txt" > "$work/out$1.jsonl"
  set -e
  [ "$(grep -c '"error":null' "$work/out$1.jsonl")" = $(($1 / 4 * 3)) ] || { echo "wrong records for $1 lines" >&2; exit 1; }
  [ "$(grep -c '"error_code":"not_found"' "$work/out$1.jsonl")" = $(($1 / 4)) ] || { echo "wrong errors for $1 lines" >&2; exit 1; }
  awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time$1.txt"
}
small=$(peak_kb 200)
large=$(peak_kb 2000)
echo "peak RSS: 200 lines ${small} kB, 2000 lines ${large} kB"
[ "$large" -le $((small + small / 10 + 30000)) ] || { echo "memory grows with the stream"; exit 1; }
echo "ok"
