#!/usr/bin/env bash
# data.extra_train adds a second manifest (another kind of photo) to the training rows, each of its
# rows listed data.extra_repeat times: an epoch takes as many steps as the combined list, the bundle
# records the extra manifest, its checksum and the repeat, and a repeat below 1 is a config error.
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
source "$src/tests/integration/tiny_training.sh"
make_tiny_training "$work" 1 0.1 1
/usr/bin/python3 "$src/tests/support/make_synthetic_faces.py" "$work/web" --count 16 --seed 3 > /dev/null
run() { "$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$@" > /dev/null; }
run "$work/plain"
run "$work/extra" --set data.extra_train="$work/web/manifest.csv" --set data.extra_repeat=3
/usr/bin/python3 - "$work" <<'PY'
import hashlib, json, subprocess, sys, os
work = sys.argv[1]
steps = {name: json.loads(open(f"{work}/{name}/metrics.jsonl").readline())["step"] for name in ("plain", "extra")}
# 96 rows -> 6 batches of 16; 96 + 3 x 16 = 144 rows -> 9.
assert steps == {"plain": 6, "extra": 9}, steps
info = json.loads(subprocess.check_output([os.environ["FACEAGE_BIN"], "-q", "models", "info", f"{work}/extra/best.fab"]))
meta = info["metadata"]
assert meta["train_images"] == 144, meta["train_images"]
assert meta["extra_repeat"] == 3 and meta["extra_train_manifest"] == f"{work}/web/manifest.csv", meta
sha = hashlib.sha256(open(f"{work}/web/manifest.csv", "rb").read()).hexdigest()
assert meta["extra_train_manifest_sha256"] == sha, (meta["extra_train_manifest_sha256"], sha)
plain = json.loads(subprocess.check_output([os.environ["FACEAGE_BIN"], "-q", "models", "info", f"{work}/plain/best.fab"]))
assert plain["metadata"]["train_images"] == 96 and plain["metadata"]["extra_train_manifest"] == "", plain["metadata"]
print("steps per epoch", steps, "- extra manifest recorded with its checksum")
PY
set +e
message=$(run "$work/bad" --set data.extra_train="$work/web/manifest.csv" --set data.extra_repeat=0 2>&1)
status=$?
set -e
[ "$status" = 3 ] || { echo "extra_repeat=0 should be a config error (exit 3), got $status: $message"; exit 1; }
grep -q "data.extra_repeat" <<< "$message" || { echo "the error does not name the key: $message"; exit 1; }
