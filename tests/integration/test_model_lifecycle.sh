#!/usr/bin/env bash
# The model lifecycle end to end (issue 19, docs/monitoring.md), on tiny synthetic data:
#   train v1 (its reference profile embedded) -> register, promote -> serve --registry with a
#   prediction log -> ordinary faces: no drift -> grayscale blurred faces: drift on colour and
#   sharpness, not on size -> feedback (404 for an unknown request id) -> live MAE in /metrics and
#   in `monitor report` -> retrain on new data -> the challenger is promoted -> the running server
#   switches to it while a client keeps sending requests, none of which fails.
set -euo pipefail
source "$(dirname "$0")/serve_common.sh"
bin=$FACEAGE_BIN; src=$FACEAGE_SOURCE_DIR
fail() { echo "FAIL: $*" >&2; [[ -f "$WORK/server.log" ]] && tail -20 "$WORK/server.log" >&2; exit 1; }

for set in "train 96 1" "val 32 2" "new 64 3" "live 40 4" "gray 40 5"; do
  read -r name count seed <<< "$set"
  $PY "$src/tests/support/make_synthetic_faces.py" "$WORK/$name" --count "$count" --seed "$seed"
done
# The degraded stream: the same kind of faces, as grayscale prints blurred by a Gaussian of 2 px.
$PY - "$WORK/gray/images" <<'PY'
import pathlib, sys
from PIL import Image, ImageFilter, ImageOps
for p in pathlib.Path(sys.argv[1]).glob("*.png"):
    ImageOps.grayscale(Image.open(p)).filter(ImageFilter.GaussianBlur(2)).convert("RGB").save(p)
PY
cat > "$WORK/tiny.yaml" <<YAML
seed: 5
data: {train: $WORK/train/manifest.csv, val: $WORK/val/manifest.csv, cache_dir: $WORK/cache, workers: 1}
face: {detector: none, crop_size: 48}
model: {arch: mobilenet_v2, age_head: distribution, head_dropout: 0.1}
preprocess: {input_size: 32}
augment: {preset: none}
loss: {age: dldl}
optimizer: {name: adamw, lr: 0.003}
schedule: {name: onecycle}
train: {epochs: 2, batch_size: 16, eval_batch_size: 32}
YAML

"$bin" --threads 1 -q train --config "$WORK/tiny.yaml" --run-dir "$WORK/v1" > /dev/null
$PY - "$WORK/v1/best.fab" <<'PY' || fail "best.fab carries no reference profile"
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])  # a torch archive: <archive>/bundle.json
meta = json.loads(z.read(next(n for n in z.namelist() if n.endswith("/bundle.json"))))["metadata"]
profile = meta["reference_profile"]
assert profile["format"] == "faceage-reference-profile" and profile["features"]["colourfulness"]["count"] == 32, profile.keys()
PY
reg="$WORK/registry"
"$bin" -q registry register "$WORK/v1/best.fab" --registry "$reg" --reason "first tiny model" > /dev/null
"$bin" -q registry promote 1 --registry "$reg" --reason "first release" > /dev/null

port=$(free_port)
"$bin" --threads 1 serve --registry "$reg" --prediction-log "$WORK/log/predictions.db" --port "$port" \
  --set registry_poll_s=0.2 --set drift_window=40 --set access_log= \
  --set flip_average=true --set precision=float32 > "$WORK/server.log" 2>&1 &
# (The reference profile was made as `faceage train` makes it: float32 with flip averaging. The
# tiny model's outputs are nearly constant, so serving it otherwise -- bf16 without flip, the serve
# defaults -- shifts them enough to read as output drift; a real model's outputs are not that narrow.)
SERVER_PID=$!
wait_for "http://127.0.0.1:$port/ping" 60 || fail "the server did not start"
url="http://127.0.0.1:$port"

# Ordinary faces, then degraded ones; after each stream the drift gauges over the last 40 faces.
$PY - "$url" "$WORK" <<'PY' || fail "serving, drift or feedback"
import csv, json, sys, urllib.request, urllib.error
url, work = sys.argv[1], sys.argv[2]

def call(path, body=None, content_type="application/json"):
    req = urllib.request.Request(url + path, data=body, headers={"Content-Type": content_type} if body else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()

def metrics():
    status, text = call("/metrics")
    assert status == 200
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out

status, body = call("/v1/models")
model = json.loads(body)["models"][0]
assert model["version"] == "1" and model["registry"]["version"] == 1, model

answered = {}
for stream in ("live", "gray"):
    rows = list(csv.DictReader(open(f"{work}/{stream}/manifest.csv")))
    for row in rows:
        status, body = call("/v1/predict", open(f"{work}/{stream}/{row['file']}", "rb").read(), "image/png")
        assert status == 200, (status, body)
        answer = json.loads(body)
        assert answer["model_version"] == "1" and answer["request_id"], answer
        answered[answer["request_id"]] = (row, answer["predictions"][0]["faces"][0]["age"])
    m = metrics()
    assert m["faceage_drift_reference_loaded"] == 1 and m["faceage_drift_window_faces"] == 40, m
    drifted = sorted(k.split('"')[1] for k, v in m.items() if k.startswith("faceage_feature_drift{") and v == 1)
    print(f"{stream}: drift {m['faceage_drift_detected']:.0f} on {drifted}")
    if stream == "live":
        # Inputs of the same kind of photo do not drift. The outputs are left out here: the tiny
        # model's answers are nearly constant, so 32 validation faces against 40 others of other
        # random ages already differ beyond the KS/PSI thresholds (seen: age, interval_width).
        outputs = {"age", "interval_width", "gender_probability"}
        assert not [f for f in drifted if f not in outputs], drifted
    else:
        assert m["faceage_drift_detected"] == 1, m
        for feature in ("colourfulness", "grayscale", "sharpness_log10"):
            assert feature in drifted, (feature, drifted)
        for feature in ("image_megapixels", "face_size"):
            assert feature not in drifted, (feature, drifted)

# Feedback: true labels for every answered face; errors are typed.
errors = []
for request_id, (row, age) in answered.items():
    body = json.dumps({"request_id": request_id, "face": 0, "age": int(row["age"]), "gender": row["gender"]}).encode()
    status, text = call("/v1/feedback", body)
    assert status == 200, (status, text)
    # The answer rounds ages to 0.01 years; the log keeps the model's value.
    assert abs(json.loads(text)["predicted_age"] - age) <= 0.005 + 1e-9, (text, age)
    errors.append(abs(age - int(row["age"])))
status, text = call("/v1/feedback", json.dumps({"request_id": "no-such-request", "age": 30}).encode())
assert status == 404 and json.loads(text)["error"]["code"] == "not_found", (status, text)
some_id = next(iter(answered))
status, text = call("/v1/feedback", json.dumps({"request_id": some_id, "face": 3, "age": 30}).encode())
assert status == 400 and json.loads(text)["error"]["code"] == "invalid_argument", (status, text)
status, text = call("/v1/feedback", json.dumps({"request_id": some_id, "age": "old"}).encode())
assert status == 400, (status, text)
status, text = call("/v1/feedback", b"{not json")
assert status == 400, (status, text)
m = metrics()
mae = sum(errors) / len(errors)
assert m["faceage_feedback_total"] == 80 and abs(m['faceage_feedback_mae_years{band="all"}'] - mae) <= 0.006, (m, mae)
assert 0 <= m["faceage_feedback_gender_accuracy"] <= 1
print(f"feedback: 80 labels, live MAE {mae:.2f} years, gender accuracy {m['faceage_feedback_gender_accuracy']:.2f}")
PY

# The same from the log: `monitor report` over it, with the live accuracy.
$PY -c "import json, sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); json.dump(json.loads(z.read(next(n for n in z.namelist() if n.endswith('/bundle.json'))))['metadata']['reference_profile'], open(sys.argv[2], 'w'))" \
  "$WORK/v1/best.fab" "$WORK/profile.json"
"$bin" -q monitor report --log "$WORK/log/predictions.db" --reference "$WORK/profile.json" \
  --out "$WORK/report" > "$WORK/report.txt" || fail "monitor report"
$PY - "$WORK/report/drift.json" <<'PY' || fail "drift.json lacks the feedback"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["window"]["faces"] == 80 and r["feedback"]["count"] == 80 and r["feedback"]["mae"] > 0, r.get("feedback")
PY

# Retrain while a client keeps asking; the challenger wins (a fresh margin of 0 and a band
# tolerance wide enough for 32 validation faces), is promoted, and the server follows.
$PY - "$url" "$WORK/live/images/face_0000.png" "$WORK/load.json" <<'PY' &
import json, sys, time, urllib.request
url, image, out = sys.argv[1], open(sys.argv[2], "rb").read(), sys.argv[3]
seen, failed, sent = {}, [], 0
deadline = time.time() + 120
while time.time() < deadline:
    try:
        req = urllib.request.Request(url + "/v1/predict", data=image, headers={"Content-Type": "image/png"})
        with urllib.request.urlopen(req, timeout=30) as r:
            version = json.loads(r.read())["model_version"]
            seen[version] = seen.get(version, 0) + 1
    except Exception as e:  # any failed request fails the test
        failed.append(repr(e))
    sent += 1
    if seen.get("2", 0) >= 20:
        break
    time.sleep(0.05)
json.dump({"sent": sent, "seen": seen, "failed": failed}, open(out, "w"))
PY
load_pid=$!
"$bin" --threads 1 -q retrain --registry "$reg" --config "$WORK/tiny.yaml" --data "$WORK/new/manifest.csv" \
  --prediction-log "$WORK/log/predictions.db" --run-dir "$WORK/retrain" --margin 0 --band-tolerance 10 \
  --reason "more data" > "$WORK/retrain.txt" || fail "retrain"
cat "$WORK/retrain.txt"
grep -q "challenger version 2: promoted" "$WORK/retrain.txt" || fail "the challenger was not promoted"
wait "$load_pid" || fail "the load client crashed"
$PY - "$WORK/load.json" "$WORK/retrain/decision.json" "$url" <<'PY' || fail "the swap"
import json, sys, urllib.request
load, decision, url = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
assert decision["promoted"] and decision["challenger"]["version"] == 2 and decision["champion"]["version"] == 1
assert decision["challenger"]["eval"]["mae"] <= decision["champion"]["eval"]["mae"]
assert decision["feedback"]["champion"]["count"] == 80, decision["feedback"]
assert not load["failed"], load["failed"][:3]
assert load["seen"].get("1", 0) > 0 and load["seen"].get("2", 0) >= 20, load
model = json.load(urllib.request.urlopen(url + "/v1/models"))["models"][0]
assert model["version"] == "2" and model["registry"]["version"] == 2, model
print(f"swap: {load['sent']} requests during retraining and promotion, 0 failed, versions {load['seen']}")
print(f"decision: champion MAE {decision['champion']['eval']['mae']:.3f}, challenger {decision['challenger']['eval']['mae']:.3f}")
PY
echo "model lifecycle: OK"
