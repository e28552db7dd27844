#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Kubernetes/KServe/Kubeflow manifests in deploy/ pass the structural schema check
# (scripts/check-k8s-manifests.py; kubectl's validation needs an API server), and the check catches
# the mistakes it is for: a selector matching no pod, a probe on an unexposed port.
set -euo pipefail
src=${FACEAGE_SOURCE_DIR:?}
/usr/bin/python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml missing"; exit 0; }
check() { /usr/bin/python3 "$src/scripts/check-k8s-manifests.py" "$@"; }
mapfile -t manifests < <(find "$src/deploy" -name '*.yaml' \( -path '*kube*' -o -path '*kserve*' \) | sort)
[ "${#manifests[@]}" -ge 2 ] || { echo "expected the deploy/ manifests"; exit 1; }
check "${manifests[@]}"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
sed 's/matchLabels: {app: faceage}/matchLabels: {app: other}/' "$src/deploy/kubernetes/deployment.yaml" > "$work/bad-selector.yaml"
if check "$work/bad-selector.yaml" > "$work/out.txt" 2>&1; then echo "a selector matching no pod passed"; exit 1; fi
grep -q "does not match the pod labels" "$work/out.txt"
sed 's/httpGet: {path: \/v2\/health\/ready, port: 8080}/httpGet: {path: \/v2\/health\/ready, port: 9999}/' \
  "$src/deploy/kserve/inferenceservice.yaml" > "$work/bad-probe.yaml"
if check "$work/bad-probe.yaml" > "$work/out.txt" 2>&1; then echo "a probe on an unexposed port passed"; exit 1; fi
grep -q "readinessProbe port 9999" "$work/out.txt"
echo "manifests: ok"
