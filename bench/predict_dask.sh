#!/usr/bin/env bash
# Images/s of deploy/dask/predict_dask.py on a local Dask cluster with 1 and 2 worker processes
# (each faceage process gets the cores / workers threads, so both runs use the same cores).
#   bench/predict_dask.sh IMAGE_FOLDER N [faceage binary] [partition size] [extra predict flags...]
# e.g. bench/predict_dask.sh ../shared/data/utkface/images 10000 build/faceage 500 --model models/default.fab
# Prints predict_dask.py's summary per run (its seconds exclude starting the cluster, include each
# partition's model load) and the wall time of the whole command.
set -euo pipefail
folder=$1; n=$2; bin=${3:-build/faceage}; part=${4:-500}
shift $(( $# >= 4 ? 4 : $# ))
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
find "$folder" -maxdepth 1 -name '*.jpg' | sort > "$work/all.txt"  # no `head` in the pipe: pipefail + SIGPIPE
head -n "$n" "$work/all.txt" > "$work/paths.txt"
echo "$(wc -l < "$work/paths.txt") images from $folder, partitions of $part, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for workers in 1 2; do
  start=$(date +%s.%N)
  set +e
  /usr/bin/python3 "$here/deploy/dask/predict_dask.py" "$work/paths.txt" --out "$work/out$workers.jsonl" \
    --local-workers "$workers" --partition-size "$part" --faceage "$bin" -- "$@" 2> "$work/err$workers.txt"
  status=$?
  set -e
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  echo "workers=$workers exit=$status wall=${wall}s: $(tail -1 "$work/err$workers.txt")"
done
# The two runs give each faceage process a different thread count; compare what that changes.
/usr/bin/python3 - "$work/out1.jsonl" "$work/out2.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert [(r["file"], r["face"], r["error_code"] if r["error"] else None) for r in a] == \
       [(r["file"], r["face"], r["error_code"] if r["error"] else None) for r in b], "different records"
ages = [abs(x["age"] - y["age"]) for x, y in zip(a, b) if x["error"] is None]
print(f"1 vs 2 workers: same {len(a)} records; identical lines: {sum(x == y for x, y in zip(a, b))}; "
      f"max |age difference| {max(ages, default=0):.2f} years")
PY
