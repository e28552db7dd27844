#!/usr/bin/env bash
# ctest-label: slow
# The container image for real (deploy/build-image.sh, deploy/run-image.sh): built from Debian
# packages, or reused by tag when its labels say it holds this very program and default model; the
# SageMaker `serve` entry point answers /ping and /invocations with the same age as `predict` on the
# host; the `train` entry point runs a tiny job on a SageMaker tree mounted at /opt/ml and leaves
# model/model.fab, which `predict` in the image then loads.
# Skips (77) with no podman (or docker with a daemon), with no mmdebstrap when the image must be
# built, when the Debian mirror cannot be reached, or when the engine cannot start any container.
#   FACEAGE_TEST_IMAGE  tag to build or reuse (default faceage:test)
#   FACEAGE_DEB_CACHE   passed to build-image.sh --deb-cache (reuse .debs, e.g. /var/cache/apt/archives)
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
PY=/usr/bin/python3
tag=${FACEAGE_TEST_IMAGE:-faceage:test}
if command -v podman > /dev/null; then engine=podman
elif command -v docker > /dev/null && timeout 20 docker info > /dev/null 2>&1; then engine=docker
else echo "SKIP: no podman, and no docker with a running daemon"; exit 77
fi
export FACEAGE_ENGINE=$engine
run=$src/deploy/run-image.sh  # podman run + what a restricted sandbox needs
work=$(mktemp -d)
names=()
cleanup() {
  for n in "${names[@]}"; do
    timeout 30 "$engine" rm -f "$n" > /dev/null 2>&1 || true
  done
  # Files the container wrote belong to its user; rootless podman maps that to a subordinate uid.
  rm -rf "$work" 2> /dev/null || timeout 60 podman unshare rm -rf "$work" || true
}
trap cleanup EXIT

# 1. The image: reused when it was built from this program and this default model.
want_bin=$(sha256sum "$bin" | cut -d' ' -f1)
want_model=$(sha256sum "$src/models/default.fab" | cut -d' ' -f1)
labels() {
  "$engine" image inspect --format \
    '{{index .Config.Labels "faceage.binary.sha256"}} {{index .Config.Labels "faceage.model.sha256"}}' "$tag" 2> /dev/null
}
if [[ $(labels) == "$want_bin $want_model" ]]; then
  echo "reusing $tag (built from this program and model)"
else
  command -v mmdebstrap > /dev/null || { echo "SKIP: $tag must be built and there is no mmdebstrap"; exit 77; }
  start=$SECONDS
  status=0
  timeout 2400 "$src/deploy/build-image.sh" --bin "$bin" --tag "$tag" --no-check \
    ${FACEAGE_DEB_CACHE:+--deb-cache "$FACEAGE_DEB_CACHE"} > "$work/build.log" 2>&1 || status=$?
  if ((status != 0)); then
    tail -n 20 "$work/build.log"
    if grep -qE "Temporary failure resolving|Could not resolve|Failed to fetch|Unable to connect" "$work/build.log"; then
      echo "SKIP: the Debian mirror cannot be reached"; exit 77
    fi
    echo "deploy/build-image.sh failed (status $status)"; exit 1
  fi
  grep '^build-image:' "$work/build.log"
  echo "built $tag in $((SECONDS - start)) s"
fi
[[ $(labels) == "$want_bin $want_model" ]] || { echo "$tag does not carry the program's and model's checksums"; exit 1; }

# 2. Can this engine start a container at all? If not, it is the machine, not the image.
if ! timeout 120 "$run" --rm "$tag" true > "$work/true.log" 2>&1; then
  cat "$work/true.log"; echo "SKIP: $engine cannot start a container here"; exit 77
fi
timeout 120 "$run" --rm "$tag" faceage version | grep -q '^faceage ' || { echo "faceage does not run in $tag"; exit 1; }

# 3. serve: the SageMaker contract on a free port of the host network.
photo=$src/samples/astronaut.png
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
name=faceage-test-serve-$$; names+=("$name")
timeout 120 "$run" -d --name "$name" --network host -e SAGEMAKER_BIND_TO_PORT="$port" "$tag" serve > /dev/null
deadline=$((SECONDS + 120))
until curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$port/ping" 2> /dev/null; do
  if ((SECONDS > deadline)); then
    timeout 30 "$engine" logs "$name" 2>&1 | tail -n 20; echo "/ping did not answer in 120 s"; exit 1
  fi
  sleep 0.5
done
code=$(curl -sS --max-time 10 -o "$work/ping.json" -w '%{http_code}' "http://127.0.0.1:$port/ping")
[[ $code == 200 ]] || { echo "/ping answered $code"; exit 1; }
code=$(curl -sS --max-time 60 -o "$work/invocations.json" -w '%{http_code}' -H 'Content-Type: image/png' \
  --data-binary "@$photo" "http://127.0.0.1:$port/invocations")
[[ $code == 200 ]] || { echo "/invocations answered $code:"; cat "$work/invocations.json"; exit 1; }
# The same program and model on the host give the same age (serve reaches the model only through
# infer; serve's default is no flip averaging, predict's is flip on, so --no-flip).
served_age=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["predictions"][0]["faces"][0]["age"])' "$work/invocations.json")
host_age=$(FACEAGE_YUNET_MODEL=$src/models/face timeout 120 "$bin" -q predict --model "$src/models/default.fab" --no-flip --format csv "$photo" | awk -F, 'NR == 2 {print $7}')
echo "/ping: $(cat "$work/ping.json"); /invocations: age $served_age (host predict: $host_age)"
"$PY" -c 'import sys; sys.exit(abs(float(sys.argv[1]) - float(sys.argv[2])) > 0.05)' "$served_age" "$host_age" ||
  { echo "the image's age $served_age differs from the host's $host_age"; exit 1; }
timeout 60 "$engine" stop -t 20 "$name" > /dev/null
exit_code=$("$engine" inspect --format '{{.State.ExitCode}}' "$name")
[[ $exit_code == 0 ]] || { echo "serve exited $exit_code after SIGTERM"; exit 1; }

# 4. train: a tiny job on a SageMaker tree mounted at /opt/ml (as tests/integration/test_train_sagemaker.sh).
ml=$work/ml
source "$src/tests/integration/sagemaker_tree.sh"
make_sagemaker_tree "$ml"
chmod -R a+rwX "$ml"  # the image runs as its own unprivileged user
name=faceage-test-train-$$; names+=("$name")
start=$SECONDS
status=0
timeout 600 "$run" --name "$name" -v "$ml:/opt/ml" "$tag" train > "$work/train.log" 2>&1 || status=$?
((status == 0)) || { tail -n 20 "$work/train.log"; cat "$ml/output/failure" 2> /dev/null; echo "train exited $status"; exit 1; }
grep 'sagemaker:' "$work/train.log" || true
echo "train: $((SECONDS - start)) s"
test -s "$ml/model/model.fab" || { echo "no model.fab in /opt/ml/model"; exit 1; }
grep -q best_val_mae "$ml/model/metrics.json" || { echo "no metrics.json"; exit 1; }
test ! -e "$ml/output/failure" || { echo "a successful job wrote a failure file"; exit 1; }
timeout 120 "$run" --rm -v "$ml:/opt/ml" "$tag" faceage -q predict --model /opt/ml/model/model.fab --detector none \
  --format csv /opt/ml/input/data/validation/images/face_0000.png | grep -q face_0000 ||
  { echo "predict in the image with the trained model.fab failed"; exit 1; }
echo "container image: ok"
