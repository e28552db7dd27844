#!/usr/bin/env bash
# faceage monitor and faceage registry end to end:
#  - a prediction log (written here with Python's sqlite3 in the schema docs/monitoring.md states)
#    holds an hour of ordinary faces, then an hour of grayscale, blurred ones;
#  - `monitor profile` of the first hour is the reference; `monitor report` finds no drift in the
#    first hour and drift on colourfulness/grayscale/sharpness in the second;
#  - `registry` registers an untrained bundle and the shipped model, promotes both, rolls back.
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

python3 - "$work/predictions.db" <<'PY'
import math, random, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE requests(id INTEGER PRIMARY KEY, time REAL NOT NULL, request_id TEXT NOT NULL,
  model_version TEXT NOT NULL, latency_ms REAL NOT NULL, faces INTEGER NOT NULL);
CREATE TABLE faces(request INTEGER NOT NULL, face INTEGER NOT NULL, image_width INTEGER, image_height INTEGER,
  face_width REAL, face_height REAL, brightness REAL, contrast REAL, sharpness REAL, colourfulness REAL,
  grayscale INTEGER, detector_score REAL, pose REAL, age REAL, interval_width REAL, gender_probability REAL,
  PRIMARY KEY(request, face));
""")
rng = random.Random(5)
start = 1796392800  # 2026-12-04T14:00:00Z
for minute in range(120):
    drifted = minute >= 60
    cur = db.execute("INSERT INTO requests(time, request_id, model_version, latency_ms, faces) VALUES(?,?,?,?,2)",
                     (start + 60 * minute, f"r{minute}", "1", rng.uniform(20, 40)))
    for face in range(2):
        colour = 0.3 if drifted else rng.gauss(35, 8)
        sharp = 10 ** (rng.gauss(2.6, 0.3) - (1.2 if drifted else 0)) - 1
        db.execute("INSERT INTO faces VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (cur.lastrowid, face, 640, 480, 180, 180, rng.gauss(120, 20), rng.gauss(45, 8), sharp, colour,
                    int(colour < 2), rng.gauss(0.9, 0.04), rng.gauss(0, 0.08), rng.gauss(35, 12),
                    rng.gauss(3, 0.6), rng.random()))
db.commit()
PY

"$bin" -q monitor profile --log "$work/predictions.db" --until 2026-12-04T14:59:59Z --out "$work/profile.json"
"$bin" -q monitor report --log "$work/predictions.db" --until 2026-12-04T14:59:59Z \
  --reference "$work/profile.json" --out "$work/same" | tee "$work/same.txt"
"$bin" -q monitor report --log "$work/predictions.db" --since 2026-12-04T15:00:00Z \
  --reference "$work/profile.json" --out "$work/drift" | tee "$work/drift.txt"
grep -q '^drift: no over 120 faces in 60 requests' "$work/same.txt" || fail "first hour should not drift"
grep -q '^drift: yes' "$work/drift.txt" || fail "second hour should drift"
[ -s "$work/drift/drift.html" ] || fail "no drift.html"
python3 - "$work/same/drift.json" "$work/drift/drift.json" <<'PY' || fail "drift.json contents"
import json, sys
same, drift = (json.load(open(p)) for p in sys.argv[1:])
assert same["drift"] is False and drift["drift"] is True
assert drift["window"]["faces"] == 120 and drift["window"]["since"] == "2026-12-04T15:00:00.000Z"
for name in ("colourfulness", "grayscale", "sharpness_log10"):
    f = drift["features"][name]
    assert f["drift"] and f["ks"]["p_value"] < 0.01 and f["psi"]["value"] > f["psi"]["threshold"], name
for name in ("brightness", "age", "gender_probability"):
    assert not drift["features"][name]["drift"], name
PY
set +e
"$bin" -q monitor report --log "$work/predictions.db" --since yesterday --reference "$work/profile.json" \
  --out "$work/x" 2> "$work/err.txt"; status=$?
set -e
[ "$status" = 2 ] || fail "a bad --since should exit 2 (got $status)"
grep -q "ISO 8601" "$work/err.txt" || fail "the error should say how to write a time"

# Registry: an untrained bundle and the shipped trained model, promote both, roll back.
reg="$work/registry"
"$bin" -q models create --arch mobilenet_v2 --input-size 112 --out "$work/untrained.fab" > /dev/null
"$bin" -q registry register "$work/untrained.fab" --registry "$reg" --reason "smoke bundle"
"$bin" -q registry register "$src/models/default.fab" --registry "$reg" --parent 1 --reason "trained"
"$bin" -q registry promote 1 --registry "$reg" --reason "first release" --user alice
"$bin" -q registry promote 2 --registry "$reg" --reason "better seed" --user bob
"$bin" -q registry rollback --registry "$reg" --reason "complaints" --user carol
"$bin" -q registry list --registry "$reg" | tee "$work/list.txt"
grep -qE '^ +1  production ' "$work/list.txt" || fail "version 1 should be production after the rollback"
grep -qE '^ +2  archived ' "$work/list.txt" || fail "version 2 should be archived"
"$bin" -q registry show 2 --registry "$reg" > "$work/show.json"
python3 - "$work/show.json" "$src/models/default.fab" <<'PY' || fail "registry show"
import hashlib, json, sys
v = json.load(open(sys.argv[1]))
assert v["sha256"] == hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
assert v["lineage"]["parent_version"] == 1
# The shipped model is either one training run's best epoch or a weight average of several runs
# (faceage models average), whose lineage is each source's training.
if "averaged_from" in v["lineage"]:
    assert v["lineage"]["averaged_from"] and all(
        "training_config" in s and "val_mae" in s["metrics"] and len(s["sha256"]) == 64 for s in v["lineage"]["averaged_from"])
else:
    assert "training_config" in v["lineage"] and "val_mae" in v["metrics"]
assert [(a["action"], a["to_stage"], a["user"]) for a in v["audit"]] == [
    ("register", "staging", v["audit"][0]["user"]), ("promote", "production", "bob"), ("rollback", "archived", "carol")]
PY
set +e
"$bin" -q registry rollback --registry "$reg" --reason again > /dev/null 2>&1; s1=$?
"$bin" -q registry register "$work/untrained.fab" --registry "$reg" > /dev/null 2>&1; s2=$?
"$bin" -q registry list --registry "$work/none" > /dev/null 2>&1; s3=$?
set -e
[ "$s1" = 2 ] || fail "rollback past the first production should exit 2 (got $s1)"
[ "$s2" = 2 ] || fail "registering the same bytes twice should exit 2 (got $s2)"
[ "$s3" = 4 ] || fail "a missing registry should exit 4 (got $s3)"
echo "monitor report and registry behave"
