#!/usr/bin/env bash
# The web page in headless Chromium: a real photo goes through the page's upload path
# (fetch + FormData to /v1/predict) and the page must draw and list the faces.
# Skips (exit 77) when Chromium is not installed.
set -euo pipefail
source "$(dirname "$0")/serve_common.sh"

CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$CHROMIUM" ]]; then echo "SKIP: chromium is not installed"; exit 77; fi
model="$(test_model)"
photo="$(face_photo)"
port="$(free_port)"

"$FACEAGE_BIN" --quiet serve --model "$model" --port "$port" --set "access_log=$WORK/access.log" 2>"$WORK/server.err" &
SERVER_PID=$!
wait_for "http://127.0.0.1:$port/ping" 30 || { cat "$WORK/server.err"; exit 1; }

# The page fetches "#image=data:..." and handles it exactly like a chosen or dropped file. A
# command-line argument holds at most 128 KiB, so the photo travels as a compact JPEG.
/usr/bin/python3 - "$photo" "$WORK/photo.jpg" <<'PYEOF'
import sys
from PIL import Image
image = Image.open(sys.argv[1]).convert("RGB")
for quality in (85, 70, 50):
    image.save(sys.argv[2], quality=quality)
    if len(open(sys.argv[2], "rb").read()) < 90_000:
        break
PYEOF
url="http://127.0.0.1:$port/#image=data:image/jpeg;base64,$(base64 -w0 "$WORK/photo.jpg")"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --disable-dev-shm-usage --hide-scrollbars
       --user-data-dir="$WORK/profile" --virtual-time-budget=30000 --window-size=960,900)
timeout 120 "$CHROMIUM" "${flags[@]}" --dump-dom "$url" >"$WORK/dom.html" 2>"$WORK/chromium.err" || {
  echo "chromium failed"; tail -20 "$WORK/chromium.err"; exit 1; }

grep -q 'data-state="done"' "$WORK/dom.html" || { echo "page did not finish:"; grep -o '<div id="status"[^<]*<' "$WORK/dom.html"; exit 1; }
faces="$(grep -o '<li class="face"' "$WORK/dom.html" | wc -l)"
((faces >= 1)) || { echo "no face listed"; exit 1; }
grep -q 'data-faces="[1-9]' "$WORK/dom.html"
grep -Eq 'Face 1: age [0-9]+\.[0-9] \([0-9]+–[0-9]+\), (male|female) [0-9]+%' "$WORK/dom.html" || {
  echo "face label missing"; grep -o '<li class="face"[^<]*' "$WORK/dom.html"; exit 1; }

# A screenshot for people to look at (kept in the build directory).
shot="$FACEAGE_BUILD_DIR/serve_web_screenshot.png"
timeout 120 "$CHROMIUM" "${flags[@]}" --user-data-dir="$WORK/profile2" --screenshot="$shot" "$url" \
  >/dev/null 2>>"$WORK/chromium.err" || true
[[ -s "$shot" ]] && echo "screenshot: $shot"
echo "web page: $faces face(s) drawn and listed"
