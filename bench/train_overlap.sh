#!/usr/bin/env bash
# Training throughput of two faceage builds in one process, and of data-parallel training
# (--nproc 2) with the gradient all-reduce started after backward vs overlapped with it
# (docs/scaling.md, "Distributed training"):
#   bench/train_overlap.sh BEFORE_BIN AFTER_BIN [ROUNDS=3] [THREADS_1P=2] [ONLY_1P=0]
# (one process gets THREADS_1P intra-op threads, each of the 2 processes 1; ONLY_1P=1 skips --nproc 2)
# MobileNetV2 @64 on synthetic faces (tests/support/make_synthetic_faces.py), 1 epoch of N/16 steps
# of 16 images (2 processes: 8 each). Each round runs every variant once, in the same order, so
# load changes on a shared machine hit all alike; prints each run's figures from metrics.jsonl
# and the medians over the rounds. A first run (not counted) builds the crop cache. BENCH_IMAGES
# (default 384) sets the training images.
set -euo pipefail
before=$1; after=$2; rounds=${3:-3}; threads_1p=${4:-2}; only_1p=${5:-0}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$here/tests/support/make_synthetic_faces.py" "$work/train" --count "${BENCH_IMAGES:-384}" --seed 1 > /dev/null
/usr/bin/python3 "$here/tests/support/make_synthetic_faces.py" "$work/val" --count 32 --seed 2 > /dev/null
cat > "$work/bench.yaml" <<YAML
seed: 5
data: {train: $work/train/manifest.csv, val: $work/val/manifest.csv, cache_dir: $work/cache, workers: 2}
face: {detector: none, crop_size: 80}
model: {arch: mobilenet_v2, age_head: distribution, head_dropout: 0.1}
preprocess: {input_size: 64}
augment: {preset: medium}
loss: {age: dldl}
optimizer: {name: adamw, lr: 0.002}
schedule: {name: onecycle}
train: {epochs: 1, batch_size: 16, eval_batch_size: 32, checkpoint_every_steps: 0}
YAML
export FACEAGE_DIST_TIMEOUT_S=300
n=0
run() {  # NAME BIN THREADS [ENV=VALUE...] -- [train flags]
  local name=$1 bin=$2 threads=$3; shift 3
  local env=(FACEAGE_BENCH_RUN=$name)  # never empty: "${env[@]}" with set -u
  while [ "$1" != -- ]; do env+=("$1"); shift; done
  shift
  n=$((n + 1))
  env "${env[@]}" "$bin" -q --threads "$threads" train --config "$work/bench.yaml" --run-dir "$work/run$n" "$@" > /dev/null
  /usr/bin/python3 - "$name" "$work/run$n/metrics.jsonl" <<'PY' | tee -a "$work/results.txt"
import json, sys
line = [json.loads(l) for l in open(sys.argv[2])][-1]
keys = ["img_per_s", "allreduce_seconds_per_step", "allreduce_wait_seconds_per_step",
        "allreduce_hook_seconds_per_step", "allreduce_buckets", "allreduce_buckets_during_backward"]
print(sys.argv[1], " ".join(f"{k}={line[k]:.4g}" for k in keys if k in line))
PY
}
echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at start"
run warmup "$after" "$threads_1p" -- > /dev/null
for round in $(seq "$rounds"); do
  run 1p-before "$before" "$threads_1p" --
  run 1p-after "$after" "$threads_1p" --
  [ "$only_1p" = 1 ] && continue
  run 2p-before "$before" 1 -- --nproc 2 --set train.batch_size=8
  run 2p-after-post-backward "$after" 1 FACEAGE_DIST_OVERLAP=0 -- --nproc 2 --set train.batch_size=8
  run 2p-after-overlap "$after" 1 FACEAGE_DIST_OVERLAP=1 -- --nproc 2 --set train.batch_size=8
  run 2p-after-overlap-1MB "$after" 1 FACEAGE_DIST_OVERLAP=1 FACEAGE_DIST_BUCKET_MB=1 -- --nproc 2 --set train.batch_size=8
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg) at the end; medians over $rounds rounds:"
/usr/bin/python3 - "$work/results.txt" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    name, *pairs = line.split()
    for pair in pairs:
        key, value = pair.split("=")
        runs[name][key].append(float(value))
for name, figures in runs.items():
    print(name, " ".join(f"{k}={statistics.median(v):.4g}" for k, v in figures.items()))
PY
