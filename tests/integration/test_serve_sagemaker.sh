#!/usr/bin/env bash
# The SageMaker entry point (deploy/sagemaker/serve) on the host: a temp dir stands in for
# /opt/ml/model; /ping must answer within 2 s of the model being loaded... and /invocations must
# accept image/png, application/x-image and JSON; SIGTERM must stop it with exit status 0.
set -euo pipefail
source "$(dirname "$0")/serve_common.sh"

model="$(test_model)"
photo="$(face_photo)"
mkdir -p "$WORK/opt/ml/model"
cp "$model" "$WORK/opt/ml/model/model.fab"
port="$(free_port)"

SM_MODEL_DIR="$WORK/opt/ml/model" SAGEMAKER_BIND_TO_PORT="$port" FACEAGE_BIN="$FACEAGE_BIN" \
  FACEAGE_SERVE_SET="access_log=$WORK/access.log" \
  "$FACEAGE_SOURCE_DIR/deploy/sagemaker/serve" 2>"$WORK/server.err" &
SERVER_PID=$!

# SageMaker's health check must pass soon after start (the model loads in about a second).
wait_for "http://127.0.0.1:$port/ping" 20 || { cat "$WORK/server.err"; exit 1; }
start=$(date +%s%N)
curl -fsS "http://127.0.0.1:$port/ping" >/dev/null
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
((elapsed_ms < 2000)) || { echo "/ping took ${elapsed_ms} ms"; exit 1; }

# It listens on every interface, as SageMaker requires.
grep -q "0.0.0.0:$port" "$WORK/server.err" || { echo "not bound to 0.0.0.0"; cat "$WORK/server.err"; exit 1; }
# It serves the model from the model directory.
curl -fsS "http://127.0.0.1:$port/v1/models" | grep -q "opt/ml/model/model.fab"

for type in image/png application/x-image; do
  out="$(curl -sS -w '\n%{http_code}' -H "Content-Type: $type" --data-binary "@$photo" "http://127.0.0.1:$port/invocations")"
  [[ "$(tail -n1 <<<"$out")" == 200 ]] || { echo "$type: $out"; exit 1; }
  grep -q '"age"' <<<"$out"
done
b64="$(base64 -w0 "$photo")"
printf '{"instances": [{"image": "%s"}]}' "$b64" > "$WORK/body.json"
out="$(curl -sS -w '\n%{http_code}' -H 'Content-Type: application/json' --data-binary "@$WORK/body.json" "http://127.0.0.1:$port/invocations")"
[[ "$(tail -n1 <<<"$out")" == 200 ]] || { echo "json: $out"; exit 1; }
code="$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: text/csv' --data 'a,b' "http://127.0.0.1:$port/invocations")"
[[ "$code" == 415 ]] || { echo "text/csv answered $code"; exit 1; }

# The access log has one JSON line per request.
grep -q '"path":"/invocations"' "$WORK/access.log"

kill -TERM "$SERVER_PID"
status=0
wait "$SERVER_PID" || status=$?
SERVER_PID=""
[[ $status == 0 ]] || { echo "exit status $status after SIGTERM"; cat "$WORK/server.err"; exit 1; }
echo "sagemaker entry point: ok"
