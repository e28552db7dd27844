#!/usr/bin/env bash
# Resident memory of `faceage predict` over a long folder: samples VmRSS every INTERVAL seconds
# while it runs and prints "seconds,images_done,rss_mb" lines, then the peak (VmHWM).
#   bench/predict_memory.sh FOLDER [faceage binary] [extra predict args...]
# e.g. a folder of 3,000 UTKFace files (symlinks):
#   mkdir /tmp/p3k && ls ../shared/data/utkface/*/*.jpg | head -3000 | xargs -I{} ln -s {} /tmp/p3k/
set -u
folder=$1; bin=${2:-build/faceage}; shift $(( $# >= 2 ? 2 : 1 ))
interval=${INTERVAL:-5}
out=$(mktemp -d)
"$bin" -q predict "$folder" --format jsonl -o "$out/records.jsonl" "$@" &
pid=$!
start=$(date +%s)
echo "seconds,images_done,rss_mb"
peak=0
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print int($2/1024)}' /proc/$pid/status 2>/dev/null || echo 0)
  hwm=$(awk '/VmHWM/ {print int($2/1024)}' /proc/$pid/status 2>/dev/null || echo 0)
  [ "${hwm:-0}" -gt "$peak" ] && peak=$hwm
  done_count=$(cat "$out"/records.jsonl.tmp.* 2>/dev/null | wc -l)
  echo "$(( $(date +%s) - start )),$done_count,$rss"
  sleep "$interval"
done
wait "$pid" || true
echo "peak_rss_mb,$peak"
echo "records,$(wc -l < "$out/records.jsonl" 2>/dev/null || echo 0)"
rm -rf "$out"
