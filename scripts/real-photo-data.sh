#!/usr/bin/env bash
# Data for configs/train/real_photo_finetune.yaml and the evaluations of docs/model-card.md ("The current
# default"): UTKFace manifest + seeded split (val sha256 35df8890...), APPA-REAL manifest and its
# train/val parts, the training mix. Reads /work/shared (the shared data); writes ~/faceage-runs.
set -euo pipefail
B=${B:-$(cd "$(dirname "$0")/.." && pwd)/build/faceage}
S=/work/shared/data
R=~/faceage-runs
mkdir -p $R/utk $R/appa $R/mix
$B -q data ingest $S/utkface/labels.csv --format utkface-labels --out $R/utk/manifest.csv --threads 2
$B -q data split $R/utk/manifest.csv --out $R/utk/splits --seed 42
sha256sum $R/utk/splits/*.csv
$B -q data ingest $S/appa-real/labels.csv --format csv --out $R/appa/manifest.csv --threads 2
head -2 $R/appa/manifest.csv
python3 - <<'PY'
import csv, os
R = os.path.expanduser("~/faceage-runs")
rows = list(csv.DictReader(open(f"{R}/appa/manifest.csv")))
print("appa rows", len(rows), "fields", list(rows[0].keys()))
for split in ("train", "val"):
    part = [r for r in rows if r.get("split") == split or (split in r["file"].split("/"))]
    with open(f"{R}/appa/{split}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys())); w.writeheader(); w.writerows(part)
    print(split, len(part))
# Training mix: UTKFace train + APPA-REAL train, paths made absolute (each manifest's paths are
# relative to its own folder).
def rows(path):
    base = os.path.dirname(path)
    for r in csv.DictReader(open(path)):
        r["file"] = os.path.normpath(os.path.join(base, r["file"]))
        yield r
utk = list(rows(f"{R}/utk/splits/train.csv")); appa = list(rows(f"{R}/appa/train.csv"))
fields = list(utk[0].keys())
with open(f"{R}/mix/train.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore"); w.writeheader()
    w.writerows(utk)
    for r in appa: w.writerow({k: r.get(k, "") for k in fields})
print("mix", len(utk) + len(appa))
# APPA-REAL train with its minors listed twice (docs/training.md, "More sources for the average, and
# children weighed more"): with data.extra_repeat=2 the web-photo minors are drawn 4x per epoch and the
# adults 2x. Children come out older on web photos (APPA-REAL val 10-17: +3.9 years), on APPA-REAL's
# own train minors too.
with open(f"{R}/appa/train_minors_x2.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(appa[0].keys())); w.writeheader()
    w.writerows(appa)
    w.writerows(r for r in appa if float(r["age"]) < 18)
PY
sha256sum $R/appa/*.csv $R/mix/train.csv
