#!/usr/bin/env bash
# Clean / degraded / APPA-REAL figures of one model, with a conformal + Platt calibration fitted on
# one half of UTKFace val (clean and degraded rows of that half) and reported on the other half.
# Usage: measure.sh MODEL NAME
set -euo pipefail
B=${B:-$(cd "$(dirname "$0")/.." && pwd)/build/faceage}
R=~/faceage-runs
M=$1; N=$2; O=$R/measure/$N
mkdir -p $O
if [ ! -s $R/halves/fit.csv ]; then
  [ -s $R/degraded-val/manifest.csv ] || $B -q data degrade $R/utk/splits/val.csv --out $R/degraded-val --seed 7
  python3 - <<'PY'
import csv, os, random
R = os.path.expanduser("~/faceage-runs")
clean = list(csv.DictReader(open(f"{R}/utk/splits/val.csv")))
deg = list(csv.DictReader(open(f"{R}/degraded-val/manifest.csv")))
print("val", len(clean), "degraded", len(deg))
idx = list(range(len(clean))); random.Random(18).shuffle(idx)
fit, rep = set(idx[: len(idx) // 2]), set(idx[len(idx) // 2 :])
os.makedirs(f"{R}/halves", exist_ok=True)
def write(name, rows, fields):
    with open(f"{R}/halves/{name}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore"); w.writeheader(); w.writerows(rows)
def absolute(rows, base):
    return [dict(r, file=r["file"] if os.path.isabs(r["file"]) else os.path.join(base, r["file"])) for r in rows]
clean_abs = absolute(clean, f"{R}/utk/splits"); deg_abs = absolute(deg, f"{R}/degraded-val")
fields = list(clean[0].keys())
# The degraded copy keeps the row order (DIR/images/NNNNNN_<stem>.jpg: NNNNNN is the row number).
deg_by_row = {int(os.path.basename(r["file"]).split("_")[0]): r for r in deg_abs}
write("fit", [clean_abs[i] for i in sorted(fit)] + [deg_by_row[i] for i in sorted(fit) if i in deg_by_row], fields)
write("report_clean", [clean_abs[i] for i in sorted(rep)], fields)
write("report_degraded", [deg_by_row[i] for i in sorted(rep) if i in deg_by_row], fields)
PY
  wc -l $R/halves/*.csv
fi
$B -q models calibrate --model $M --data $R/halves/fit.csv --out $O/calibrated.fab --coverage 0.8,0.9,0.95 | tee $O/calibrate.txt
for set in clean degraded; do
  $B -q eval --model $O/calibrated.fab --data $R/halves/report_$set.csv --report $O/$set > $O/$set.txt
done
$B -q eval --model $O/calibrated.fab --data $R/appa/val.csv --report $O/appa-val-calibrated > $O/appa-val-calibrated.txt
$B -q eval --model $O/calibrated.fab --data $R/utk/splits/test.csv --report $O/utk-test > $O/utk-test.txt
for f in calibrate clean degraded appa-val-calibrated utk-test; do echo "== $f"; head -24 $O/$f.txt; done
