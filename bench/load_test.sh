#!/usr/bin/env bash
# Load test of `faceage serve` on loopback, bounded in time (about 14 x DURATION seconds).
#   bench/load_test.sh [MODEL.fab]      env: DURATION=8 FACEAGE_BIN=build/faceage OUT=<build>/load_test
#                                             SOAK=300 (seconds; 0 skips the memory soak)
#                                             SERVE_SET="precision=float32 ..." (serve options for every run)
# Records req/s and p50/p95/p99 at 1, 8 and 32 connections for 200x200 and 640x480 JPEGs, with
# dynamic batching on (max_batch_size=16) and off (max_batch_size=1); then a hot swap under load
# (two /admin/reload calls during an 8-connection run) that must lose no request; RSS sampled
# every 0.25 s throughout; last, a soak: 8 connections for SOAK seconds, RSS per minute, to show
# memory stays flat. Needs wrk (Debian package `wrk`) and /usr/bin/python3 with PIL.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
BIN="${FACEAGE_BIN:-$root/build/faceage}"
DURATION="${DURATION:-8}"
OUT="${OUT:-$(dirname "$BIN")/load_test}"  # in the (ignored) build directory
PY=/usr/bin/python3
command -v wrk >/dev/null || { echo "load_test: install wrk (apt-get install wrk)" >&2; exit 1; }
[[ -x "$BIN" ]] || { echo "load_test: no faceage program at $BIN (set FACEAGE_BIN)" >&2; exit 1; }

work="$(mktemp -d)"
server_pid=""
sampler_pid=""
cleanup() {
  [[ -n "$sampler_pid" ]] && kill "$sampler_pid" 2>/dev/null || true
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then kill "$server_pid"; wait "$server_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

model="${1:-}"
if [[ -z "$model" ]]; then
  if [[ -f "$root/models/default.fab" ]]; then
    model="$root/models/default.fab"
  else
    writer="$(dirname "$BIN")/tests/test_serve"
    FACEAGE_WRITE_TEST_BUNDLE="$work/test.fab" "$writer" --gtest_filter=ServeTestBundle.WriteWhenAsked >/dev/null
    model="$work/test.fab"
    echo "load_test: no models/default.fab; using a random-weight test bundle" >&2
  fi
fi

# Test images from the public-domain astronaut photo (python3-skimage data or the fixture).
photo="$root/tests/fixtures/astronaut.png"
[[ -f "$photo" ]] || photo=/usr/lib/python3/dist-packages/skimage/data/astronaut.png
"$PY" - "$photo" "$work" <<'PYEOF'
import sys
from PIL import Image
src, out = sys.argv[1], sys.argv[2]
im = Image.open(src).convert("RGB")
# 200x200: a face crop (as UTKFace-style inputs); 640x480: a photo with the face in it.
im.crop((96, 0, 352, 256)).resize((200, 200), Image.BILINEAR).save(f"{out}/face_200x200.jpg", quality=90)
canvas = Image.new("RGB", (640, 480), (90, 110, 130))
canvas.paste(im.resize((480, 480), Image.BILINEAR), (80, 0))
canvas.save(f"{out}/photo_640x480.jpg", quality=90)
PYEOF

port="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"

read -ra serve_set <<<"${SERVE_SET:-}"
start_server() {  # start_server EXTRA_SET...
  local extra=()
  for assignment in "${serve_set[@]}"; do extra+=(--set "$assignment"); done
  "$BIN" --quiet serve --model "$model" --port "$port" --set access_log="$work/access.log" "${extra[@]}" "$@" \
    2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$url/ping" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$work/server.err" >&2
  exit 1
}
stop_server() {
  kill "$server_pid"
  wait "$server_pid" || true
  server_pid=""
}
sample_rss() {  # sample_rss PID FILE: VmRSS in kB every 0.25 s
  while kill -0 "$1" 2>/dev/null; do
    awk '/VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null >>"$2" || true
    sleep 0.25
  done
}
run_wrk() {  # run_wrk CONNECTIONS IMAGE [SECONDS, default DURATION] -> RESULT json
  local threads=$(( $1 < 2 ? 1 : 2 ))
  WRK_BODY="$2" WRK_TYPE=image/jpeg wrk -t"$threads" -c"$1" -d"${3:-$DURATION}s" --timeout 10s \
    -s "$here/load_test.lua" "$url/v1/predict" | sed -n 's/^RESULT //p'
}

mkdir -p "$OUT"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="$OUT/load_test_$stamp.jsonl"
: >"$results"
echo "model: $model  duration: ${DURATION}s per run  cpus: $(nproc)  serve set: ${SERVE_SET:-none}" | tee "$OUT/load_test_$stamp.txt"
# Prediction-log overhead (issue 19): 8 connections, 200x200 faces, runs without and with
# `--prediction-log` alternated LOG_ROUNDS times in this one sitting; medians of req/s and p99.
# ONLY_LOG_OVERHEAD=1 stops after this section.
LOG_ROUNDS="${LOG_ROUNDS:-3}"
declare -a rps_off=() rps_on=() p99_off=() p99_on=()
for round in $(seq 1 "$LOG_ROUNDS"); do
  for mode in off on; do
    if [[ $mode == on ]]; then start_server --prediction-log "$work/log-$round.db"; else start_server; fi
    curl -fsS -o /dev/null -H 'Content-Type: image/jpeg' --data-binary "@$work/face_200x200.jpg" "$url/v1/predict"
    result="$(run_wrk 8 "$work/face_200x200.jpg")"
    stop_server
    rps="$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["rps"])' "$result")"
    p99="$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["p99_ms"])' "$result")"
    if [[ $mode == on ]]; then rps_on+=("$rps"); p99_on+=("$p99"); else rps_off+=("$rps"); p99_off+=("$p99"); fi
    echo "{\"prediction_log\": \"$mode\", \"round\": $round, \"connections\": 8, \"wrk\": $result}" >>"$results"
  done
done
"$PY" - "${rps_off[*]}" "${rps_on[*]}" "${p99_off[*]}" "${p99_on[*]}" <<'PY' | tee -a "$OUT/load_test_$stamp.txt"
import statistics, sys
off, on, p_off, p_on = ([float(x) for x in a.split()] for a in sys.argv[1:5])
m_off, m_on = statistics.median(off), statistics.median(on)
print(f"prediction log (8 conns, 200x200, {len(off)} rounds alternated): {m_off:.1f} req/s without, {m_on:.1f} with "
      f"({100 * (m_on / m_off - 1):+.1f} %); p99 {statistics.median(p_off):.1f} vs {statistics.median(p_on):.1f} ms; "
      f"runs without {off}, with {on}")
PY
if [[ "${ONLY_LOG_OVERHEAD:-0}" == 1 ]]; then exit 0; fi

printf '%-9s %-8s %5s %9s %8s %8s %8s %8s %9s\n' batching image conns req/s p50_ms p95_ms p99_ms errors max_rss_mb \
  | tee -a "$OUT/load_test_$stamp.txt"

for batching in on off; do
  max_batch=16
  [[ $batching == off ]] && max_batch=1
  start_server --set max_batch_size=$max_batch --set max_wait_ms=5
  for image in face_200x200 photo_640x480; do
    curl -fsS -o /dev/null -H 'Content-Type: image/jpeg' --data-binary "@$work/$image.jpg" "$url/v1/predict"  # warm-up
    for conns in 1 8 32; do
      rss="$work/rss_${batching}_${image}_$conns"
      sample_rss "$server_pid" "$rss" & sampler_pid=$!
      result="$(run_wrk "$conns" "$work/$image.jpg")"
      kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""
      max_rss_kb="$(sort -n "$rss" | tail -n1)"
      echo "{\"batching\": \"$batching\", \"image\": \"$image\", \"connections\": $conns, \"max_rss_kb\": ${max_rss_kb:-0}, \"wrk\": $result}" >>"$results"
      "$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); print("%-9s %-8s %5s %9.1f %8.1f %8.1f %8.1f %8d %9.0f" % (sys.argv[2], sys.argv[3][:8], sys.argv[4], r["rps"], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["non_2xx"]+r["socket_errors"], int(sys.argv[5] or 0)/1024))' \
        "$result" "$batching" "$image" "$conns" "$max_rss_kb" | tee -a "$OUT/load_test_$stamp.txt"
    done
  done
  curl -fsS "$url/metrics" | grep -E '^faceage_inference_batch_size_(sum|count)' | sed "s/^/  [$batching] /" | tee -a "$OUT/load_test_$stamp.txt"
  stop_server
done

# Hot swap under load: 8 connections while the model is reloaded twice; no request may fail.
start_server --set max_batch_size=16
sample_rss "$server_pid" "$work/rss_swap" & sampler_pid=$!
( sleep $((DURATION / 3 + 1)); curl -fsS -H "Content-Type: application/json" -d "{}" "$url/admin/reload" >"$work/reload1.json";
  sleep $((DURATION / 3)); curl -fsS -H "Content-Type: application/json" -d "{}" "$url/admin/reload" >"$work/reload2.json" ) &
reloader=$!
result="$(run_wrk 8 "$work/face_200x200.jpg")"
wait "$reloader"
kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""
max_rss_kb="$(sort -n "$work/rss_swap" | tail -n1)"
echo "{\"hot_swap\": true, \"connections\": 8, \"max_rss_kb\": ${max_rss_kb:-0}, \"reloads\": [$(cat "$work/reload1.json"), $(cat "$work/reload2.json")], \"wrk\": $result}" >>"$results"
"$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); print("hot swap (2 reloads, 8 conns): %.1f req/s, p99 %.1f ms, failed requests: %d, max RSS %.0f MB" % (r["rps"], r["p99_ms"], r["non_2xx"]+r["socket_errors"], int(sys.argv[2] or 0)/1024))' \
  "$result" "$max_rss_kb" | tee -a "$OUT/load_test_$stamp.txt"
stop_server

# Memory soak: 8 connections for SOAK seconds; RSS (MB) reported at each minute. Flat means the
# last minute's RSS is within a few percent of the first's.
SOAK="${SOAK:-300}"
if (( SOAK > 0 )); then
  start_server
  sample_rss "$server_pid" "$work/rss_soak" & sampler_pid=$!
  result="$(run_wrk 8 "$work/face_200x200.jpg" "$SOAK")"
  kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""
  # 4 samples per second: RSS at the end of each minute (and at the last sample).
  per_minute="$(awk 'NR % 240 == 0 {printf "%s%.0f", sep, $1/1024; sep=", "} END {printf "%s%.0f", sep, $1/1024}' "$work/rss_soak")"
  echo "{\"soak_s\": $SOAK, \"connections\": 8, \"rss_mb_per_minute\": [$per_minute], \"wrk\": $result}" >>"$results"
  "$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); print("soak (%s s, 8 conns, 200x200): %.1f req/s, p99 %.1f ms, failed requests: %d, RSS MB per minute: %s" % (sys.argv[2], r["rps"], r["p99_ms"], r["non_2xx"]+r["socket_errors"], sys.argv[3]))' \
    "$result" "$SOAK" "$per_minute" | tee -a "$OUT/load_test_$stamp.txt"
  stop_server
fi
echo "results: $results"
