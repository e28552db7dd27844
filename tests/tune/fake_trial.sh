#!/bin/bash
# A stand-in for `faceage train` in the tune tests: evaluates Branin at the --set values x1, x2 and
# writes one metrics.jsonl line per "epoch" (val_mae = branin * (1 + 1/epoch)), sleeping between
# epochs. Also appends the trial directory name to ../invocations.log (to count restarts).
#   --set train.epochs=N  --set fake.sleep=S  --set fake.fail=1 (exit 3 after the epochs)
set -eu
run_dir=""; x1=0; x2=0; epochs=3; sleep_s=0.05; fail=0
while [ $# -gt 0 ]; do
  case "$1" in
    --run-dir) run_dir=$2; shift 2 ;;
    --config) shift 2 ;;
    --set)
      k=${2%%=*}; v=${2#*=}
      case $k in
        x1) x1=$v ;; x2) x2=$v ;; train.epochs) epochs=$v ;; fake.sleep) sleep_s=$v ;; fake.fail) fail=$v ;;
      esac
      shift 2 ;;
    *) shift ;;
  esac
done
mkdir -p "$run_dir"
basename "$run_dir" >> "$run_dir/../invocations.log"
f=$(awk -v a="$x1" -v b="$x2" 'BEGIN { pi = atan2(0, -1); bb = 5.1 / (4 * pi * pi); c = 5 / pi; t = 1 / (8 * pi);
  q = b - bb * a * a + c * a - 6; printf "%.12g", q * q + 10 * (1 - t) * cos(a) + 10 }')
for e in $(seq 1 "$epochs"); do
  sleep "$sleep_s"
  v=$(awk -v f="$f" -v e="$e" 'BEGIN { printf "%.12g", f * (1 + 1.0 / e) }')
  echo "{\"epoch\":$e,\"val_mae\":$v,\"train_loss\":1.0}" >> "$run_dir/metrics.jsonl"
done
if [ "$fail" = "1" ]; then exit 3; fi
exit 0
