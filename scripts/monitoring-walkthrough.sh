#!/usr/bin/env bash
# Walkthrough for docs/monitoring.md on tiny synthetic data: prints commands and their real output.
# Usage: scripts/monitoring-walkthrough.sh (after ./setup.sh); works in /tmp/lc, serves on port 8131.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd); bin=$src/build/faceage
W=/tmp/lc; rm -rf $W; mkdir -p $W; cd $W
show() { echo "\$ $*"; eval "$@"; }
for set in "train 96 1" "val 32 2" "new 64 3" "live 40 4" "gray 40 5"; do
  read -r name count seed <<< "$set"
  /usr/bin/python3 $src/tests/support/make_synthetic_faces.py $W/$name --count $count --seed $seed
done
/usr/bin/python3 - $W/gray/images <<'PY'
import pathlib, sys
from PIL import Image, ImageFilter, ImageOps
for p in pathlib.Path(sys.argv[1]).glob("*.png"):
    ImageOps.grayscale(Image.open(p)).filter(ImageFilter.GaussianBlur(2)).convert("RGB").save(p)
PY
sed -n '/^cat > "\$WORK\/tiny.yaml"/,/^YAML/p' $src/tests/integration/test_model_lifecycle.sh | sed '1d;$d' | sed "s|\$WORK|$W|g" > $W/tiny.yaml
show "$bin --threads 1 train --config tiny.yaml --run-dir v1 2>&1 | grep -v '^\[' | tail -3"
show "$bin -q registry register v1/best.fab --registry reg --reason 'first tiny model'"
show "$bin -q registry promote 1 --registry reg --reason 'first release'"
$bin --threads 1 serve --registry reg --prediction-log log/predictions.db --port 8131 --set registry_poll_s=1 --set drift_window=40 --set access_log= --set flip_average=true --set precision=float32 > server.log 2>&1 &
spid=$!
for i in $(seq 100); do curl -fs localhost:8131/ping >/dev/null && break; sleep 0.2; done
show "curl -s localhost:8131/v1/models | /usr/bin/python3 -c 'import json,sys; m=json.load(sys.stdin)[\"models\"][0]; print(json.dumps({k: m[k] for k in (\"version\", \"registry\")}, indent=1))'"
show "curl -s --data-binary @live/images/face_0000.png -H 'Content-Type: image/png' localhost:8131/v1/predict"
echo
for f in live/images/*.png; do curl -s --data-binary @$f -H 'Content-Type: image/png' localhost:8131/v1/predict > /dev/null; done
show "curl -s localhost:8131/metrics | grep -E '^faceage_(drift|feature_drift)' | grep -v ' 0$' "
for f in gray/images/*.png; do curl -s --data-binary @$f -H 'Content-Type: image/png' localhost:8131/v1/predict >> gray_answers.jsonl; echo >> gray_answers.jsonl; done
show "curl -s localhost:8131/metrics | grep -E '^faceage_(drift|feature_drift)' | grep -v ' 0$' "
rid=$(head -1 gray_answers.jsonl | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["request_id"])')
show "curl -s -H 'Content-Type: application/json' -d '{\"request_id\": \"$rid\", \"face\": 0, \"age\": 37, \"gender\": \"female\"}' localhost:8131/v1/feedback"
echo
show "curl -s -H 'Content-Type: application/json' -d '{\"request_id\": \"nope\", \"age\": 37}' localhost:8131/v1/feedback"
echo
/usr/bin/python3 - <<'PY'
import csv, json, urllib.request
rows = {r["file"].split("/")[-1]: r for r in csv.DictReader(open("gray/manifest.csv"))}
for line, name in zip(open("gray_answers.jsonl"), sorted(rows)):
    if not line.strip(): continue
    a = json.loads(line)
    r = rows[name]
    body = json.dumps({"request_id": a["request_id"], "face": 0, "age": int(r["age"]), "gender": r["gender"]}).encode()
    urllib.request.urlopen(urllib.request.Request("http://localhost:8131/v1/feedback", body, {"Content-Type": "application/json"}))
PY
show "curl -s localhost:8131/metrics | grep -E '^faceage_(feedback|prediction_log)'"
/usr/bin/python3 -c "import json, zipfile; json.dump(json.loads(zipfile.ZipFile('v1/best.fab').read('archive/bundle.json'))['metadata']['reference_profile'], open('profile.json', 'w'))"
show "$bin -q monitor report --log log/predictions.db --reference profile.json --out report"
show "/usr/bin/python3 -c 'import json; print(json.dumps(json.load(open(\"report/drift.json\"))[\"feedback\"], indent=1))' | head -30"
show "$bin --threads 1 -q retrain --registry reg --config tiny.yaml --data new/manifest.csv --prediction-log log/predictions.db --run-dir retrain --margin 0.5 --reason 'more data'"
sleep 2
show "$bin -q registry list --registry reg"
show "curl -s localhost:8131/v1/models | /usr/bin/python3 -c 'import json,sys; m=json.load(sys.stdin)[\"models\"][0]; print(m[\"version\"], m[\"registry\"][\"version\"])'"
show "grep -E 'registry|serving model' server.log"
show "/usr/bin/python3 -c 'import json; d=json.load(open(\"retrain/decision.json\")); d[\"champion\"][\"eval\"].pop(\"by_band\"); d[\"challenger\"][\"eval\"].pop(\"by_band\"); print(json.dumps(d, indent=1))' | head -80"
kill $spid; wait $spid
