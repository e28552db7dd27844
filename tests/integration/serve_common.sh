# Sourced by tests/integration/test_serve_*.sh: a model bundle, a free port, a face photo, and
# waiting for a server. Needs FACEAGE_BIN, FACEAGE_SOURCE_DIR, FACEAGE_BUILD_DIR (set by ctest).
: "${FACEAGE_BIN:?set by ctest}" "${FACEAGE_SOURCE_DIR:?set by ctest}"
FACEAGE_BUILD_DIR="${FACEAGE_BUILD_DIR:-$(dirname "$FACEAGE_BIN")}"
PY=/usr/bin/python3
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; wait "$SERVER_PID" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The trained default model when present, else a random-weight bundle written by test_serve.
test_model() {
  if [[ -n "${FACEAGE_MODEL:-}" && -f "$FACEAGE_MODEL" ]]; then echo "$FACEAGE_MODEL"; return; fi
  if [[ -f "$FACEAGE_SOURCE_DIR/models/default.fab" ]]; then echo "$FACEAGE_SOURCE_DIR/models/default.fab"; return; fi
  local writer="$FACEAGE_BUILD_DIR/tests/test_serve"
  if [[ ! -x "$writer" ]]; then echo "no model: build test_serve or provide models/default.fab" >&2; exit 77; fi
  FACEAGE_WRITE_TEST_BUNDLE="$WORK/test.fab" "$writer" --gtest_filter=ServeTestBundle.WriteWhenAsked >/dev/null
  echo "$WORK/test.fab"
}

face_photo() {
  for p in "$FACEAGE_SOURCE_DIR/tests/fixtures/astronaut.png" /usr/lib/python3/dist-packages/skimage/data/astronaut.png; do
    if [[ -f "$p" ]]; then echo "$p"; return; fi
  done
  echo "no face photo (tests/fixtures/astronaut.png or python3-skimage)" >&2
  exit 77
}

# wait_for URL SECONDS: polls until the URL answers 200.
wait_for() {
  local url="$1" deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $url" >&2
  return 1
}
