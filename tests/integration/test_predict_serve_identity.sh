#!/usr/bin/env bash
# One prediction path: for the same image bytes and model, `faceage predict` and `/invocations`
# give identical records -- a multi-face image (largest face first), one-face images and error
# records (no face, unreadable, unsupported format) -- not merely close ones.
set -euo pipefail
source "$(dirname "$0")/serve_common.sh"
fx="$FACEAGE_SOURCE_DIR/tests/fixtures"
"$FACEAGE_BIN" -q models create --arch mobilenet_v2 --input-size 64 --out "$WORK/test.fab" > /dev/null
images=("$fx/faces/group.jpg" "$fx/astronaut.png" "$fx/faces/astronaut_crop.jpg" "$fx/no_face/rocket.jpg"
        "$fx/bad/truncated.jpg" "$fx/bad/quadrants.gif")

"$FACEAGE_BIN" -q predict --model "$WORK/test.fab" --precision float32 --format jsonl "${images[@]}" \
  > "$WORK/predict.jsonl" || [[ $? == 1 ]]

port="$(free_port)"
"$FACEAGE_BIN" -q serve --model "$WORK/test.fab" --port "$port" --set precision=float32 \
  > "$WORK/server.out" 2> "$WORK/server.err" &
SERVER_PID=$!
wait_for "http://127.0.0.1:$port/ping" 60 || { cat "$WORK/server.err"; exit 1; }

# All images in one JSON request, and each image alone as the raw body.
"$PY" - "$WORK/body.json" "${images[@]}" <<'PY'
import base64, json, sys
json.dump({"instances": [{"image": base64.b64encode(open(p, "rb").read()).decode()} for p in sys.argv[2:]]},
          open(sys.argv[1], "w"))
PY
curl -sS -H 'Content-Type: application/json' --data-binary "@$WORK/body.json" \
  "http://127.0.0.1:$port/invocations" > "$WORK/batch.json"
for i in "${!images[@]}"; do
  curl -sS -H 'Content-Type: application/octet-stream' --data-binary "@${images[$i]}" \
    "http://127.0.0.1:$port/invocations" > "$WORK/single-$i.json"
done

"$PY" - "$WORK" "${images[@]}" <<'PY'
import json, sys
work, paths = sys.argv[1], sys.argv[2:]
records = {}
for line in open(f"{work}/predict.jsonl"):
    r = json.loads(line)
    records.setdefault(r["file"], []).append(r)

def served(faces, error, source, path):
    """The server's answer as predict records: the served source name replaced by the path."""
    if error:
        return [{"file": path, "face": None, "error": error["message"].replace(source, path, 1),
                 "error_code": error["code"]}]
    return [dict(f, file=path) for f in faces]

batch = json.load(open(f"{work}/batch.json"))["predictions"]
multi = 0
for i, path in enumerate(paths):
    want = records[path]
    image = batch[i]
    got = served(image["faces"], image.get("error"), image["source"], path)
    assert got == want, f"batch request, {path}:\n served {got}\n predict {want}"
    single = json.load(open(f"{work}/single-{i}.json"))
    if "predictions" in single:  # the one image succeeded
        one = single["predictions"][0]
        got = served(one["faces"], one.get("error"), one["source"], path)
    else:  # every image of the request failed: the request fails with that image's error
        got = served([], single["error"], "body", path)
    assert got == want, f"single request, {path}:\n served {got}\n predict {want}"
    if len(want) > 1:
        multi += 1
        areas = [r["w"] * r["h"] for r in want]
        assert areas == sorted(areas, reverse=True), f"{path}: faces not largest first: {areas}"
        assert [r["face"] for r in want] == list(range(len(want))), want
# The answers to act on travel in every format: p_minor, quality (score + parts), unreliable.
faces = [f for rs in records.values() for f in rs if not f["error"]]
assert faces and all(0 <= f["p_minor"] <= 1 and f["minor_gate"] == 18 for f in faces), faces
assert all(0 <= f["quality"]["score"] <= 1 and "sharpness" in f["quality"]["parts"] for f in faces), faces
assert all(isinstance(f["unreliable"], bool) for f in faces), faces
errors = sorted(r[0]["error_code"] for r in records.values() if r[0]["error"])
assert errors == ["no_face", "unreadable_image", "unsupported_media_type"], errors
assert multi >= 1, "no multi-face image among the fixtures"
print(f"identical records for {len(paths)} images ({sum(len(r) for r in records.values())} records)")
PY
echo ok
