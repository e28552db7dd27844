#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A freshly trained bundle carries the licence note from its config (data.licence), `faceage models
# info` prints it, and an ensemble of such bundles reports its members' note; a config without
# data.licence says so instead of staying silent.
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$src/tests/support/make_synthetic_faces.py" "$work/train" --count 32 --seed 1
/usr/bin/python3 "$src/tests/support/make_synthetic_faces.py" "$work/val" --count 16 --seed 2
cat > "$work/tiny.yaml" <<YAML
seed: 5
data: {train: $work/train/manifest.csv, val: $work/val/manifest.csv, cache_dir: $work/cache, workers: 1,
       licence: "synthetic test faces: Apache-2.0"}
face: {detector: none, crop_size: 48}
model: {arch: mobilenet_v2, age_head: distribution}
preprocess: {input_size: 32}
train: {epochs: 1, batch_size: 16, eval_batch_size: 16}
YAML
"$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$work/a" > /dev/null
note() { /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["licence"])'; }
got=$("$bin" models info "$work/a/best.fab" | note)
[ "$got" = "synthetic test faces: Apache-2.0" ] || { echo "models info licence: '$got'"; exit 1; }

"$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$work/b" --set seed=6 > /dev/null
"$bin" -q models ensemble "$work/a/best.fab" "$work/b/best.fab" --out "$work/e.fab" > /dev/null
got=$("$bin" models info "$work/e.fab" | note)
[ "$got" = "synthetic test faces: Apache-2.0" ] || { echo "ensemble licence: '$got'"; exit 1; }
"$bin" -q models ensemble "$work/a/best.fab" "$work/b/best.fab" --out "$work/e2.fab" --licence "custom" > /dev/null
[ "$("$bin" models info "$work/e2.fab" | note)" = custom ] || { echo "ensemble --licence not recorded"; exit 1; }

sed -i '/licence:/d; s/workers: 1,/workers: 1}/' "$work/tiny.yaml"
"$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$work/c" > /dev/null
"$bin" models info "$work/c/best.fab" | note | grep -q "not stated" || { echo "a missing data.licence must be said"; exit 1; }
echo "licence notes: ok"
