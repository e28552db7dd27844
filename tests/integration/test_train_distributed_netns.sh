#!/usr/bin/env bash
# Data-parallel training across two "hosts": two network namespaces joined by a veth pair, rank 0
# in one (serving the rendezvous at its address), rank 1 in the other, Gloo bound to the veth ends
# (GLOO_SOCKET_IFNAME), launched with the torchrun variables as a cluster scheduler would. The
# result equals one process with the doubled batch. Skips (77) where namespaces cannot be made.
set -euo pipefail
bin=${FACEAGE_BIN:?}; src=${FACEAGE_SOURCE_DIR:?}
ns0=faceage-ns0-$$; ns1=faceage-ns1-$$
work=$(mktemp -d)
cleanup() {
  ip netns pids "$ns0" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns pids "$ns1" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$ns0" 2>/dev/null || true
  ip netns del "$ns1" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if ! command -v ip > /dev/null || ! ip netns add "$ns0" 2> /dev/null; then
  echo "SKIP: cannot create network namespaces here (needs iproute2 and CAP_NET_ADMIN)"; exit 77
fi
ip netns add "$ns1"
ip link add "fa0-$$" type veth peer name "fa1-$$" 2> /dev/null || { echo "SKIP: cannot create a veth pair"; exit 77; }
ip link set "fa0-$$" netns "$ns0"
ip link set "fa1-$$" netns "$ns1"
ip -n "$ns0" addr add 10.213.0.1/24 dev "fa0-$$"
ip -n "$ns1" addr add 10.213.0.2/24 dev "fa1-$$"
for ns in "$ns0" "$ns1"; do ip -n "$ns" link set lo up; done
ip -n "$ns0" link set "fa0-$$" up
ip -n "$ns1" link set "fa1-$$" up

/usr/bin/python3 "$src/tests/support/make_synthetic_faces.py" "$work/train" --count 64 --seed 1
/usr/bin/python3 "$src/tests/support/make_synthetic_faces.py" "$work/val" --count 16 --seed 2
cat > "$work/tiny.yaml" <<YAML
seed: 7
data: {train: $work/train/manifest.csv, val: $work/val/manifest.csv, cache_dir: $work/cache, workers: 1}
face: {detector: none, crop_size: 48}
model: {arch: mobilenet_v2, age_head: distribution, head_dropout: 0}
preprocess: {input_size: 32}
augment: {preset: none}
optimizer: {name: adamw, lr: 0.002}
train: {epochs: 1, batch_size: 16, eval_batch_size: 16, batchnorm: freeze}
YAML
train() { timeout 300 "$bin" --threads 1 -q train --config "$work/tiny.yaml" "$@" > /dev/null; }
train --run-dir "$work/one"
# The run directory is shared (one file system), as the docs require across hosts.
export MASTER_ADDR=10.213.0.1 MASTER_PORT=29512 WORLD_SIZE=2 FACEAGE_DIST_TIMEOUT_S=60
RANK=0 LOCAL_RANK=0 GLOO_SOCKET_IFNAME="fa0-$$" ip netns exec "$ns0" \
  timeout 300 "$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$work/two" --set train.batch_size=8 \
  > /dev/null 2> "$work/rank0.log" &
rank0=$!
status1=0
RANK=1 LOCAL_RANK=0 GLOO_SOCKET_IFNAME="fa1-$$" ip netns exec "$ns1" \
  timeout 300 "$bin" --threads 1 -q train --config "$work/tiny.yaml" --run-dir "$work/two" --set train.batch_size=8 \
  > /dev/null 2> "$work/rank1.log" || status1=$?
status0=0; wait "$rank0" || status0=$?
[ "$status0" = 0 ] && [ "$status1" = 0 ] || { echo "ranks failed: $status0 $status1"; cat "$work"/rank*.log; exit 1; }
/usr/bin/python3 "$src/tests/support/compare_bundles.py" "$work/one/last.fab" "$work/two/last.fab" --atol 5e-4 --rtol 0
echo "two namespaces over a veth pair trained the weights of one process with the doubled batch"
