#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Structural schema check of the Kubernetes manifests under deploy/ (kubectl's own validation
needs an API server to fetch the OpenAPI schema, and these machines have none). For each document:
apiVersion/kind/metadata.name; per kind the fields Kubernetes requires and the cross-references
that break deployments silently (selectors that match no pod, an HPA or probe pointing at nothing,
ports that are not exposed, CRDs with their required replica specs). Exit 1 with one line per
problem. Usage: check-k8s-manifests.py FILE.yaml...
"""
import sys

import yaml

KNOWN = {
    ("apps/v1", "Deployment"), ("v1", "Service"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("serving.kserve.io/v1beta1", "InferenceService"), ("kubeflow.org/v1", "PyTorchJob"),
}


def need(problems, where, obj, *path):
    cur = obj
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            problems.append(f"{where}: missing {'.'.join(path)}")
            return None
        cur = cur[key]
    return cur


def check_container(problems, where, c, ports_needed=()):
    if not c.get("name"):
        problems.append(f"{where}: container without a name")
    if not c.get("image"):
        problems.append(f"{where}: container {c.get('name')} without an image")
    exposed = {p.get("containerPort") for p in c.get("ports", [])} | {p.get("name") for p in c.get("ports", [])}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        port = (c.get(probe) or {}).get("httpGet", {}).get("port")
        if port is not None and port not in exposed:
            problems.append(f"{where}: {probe} port {port} is not a container port")
    for res in ("requests", "limits"):
        for k in (c.get("resources", {}).get(res) or {}):
            if k not in ("cpu", "memory", "nvidia.com/gpu", "ephemeral-storage"):
                problems.append(f"{where}: unknown resource {k}")


def check_pod_spec(problems, where, spec):
    containers = spec.get("containers") if isinstance(spec, dict) else None
    if not containers:
        problems.append(f"{where}: no containers")
        return
    for c in containers:
        check_container(problems, where, c)


def check(docs, path):
    problems, deployments = [], {}
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        where = f"{path}[{i}]"
        api, kind = doc.get("apiVersion"), doc.get("kind")
        name = need(problems, where, doc, "metadata", "name")
        if (api, kind) not in KNOWN:
            problems.append(f"{where}: unexpected apiVersion/kind {api}/{kind}")
            continue
        where = f"{path} {kind}/{name}"
        if kind == "Deployment":
            match = need(problems, where, doc, "spec", "selector", "matchLabels") or {}
            labels = need(problems, where, doc, "spec", "template", "metadata", "labels") or {}
            if any(labels.get(k) != v for k, v in match.items()):
                problems.append(f"{where}: selector {match} does not match the pod labels {labels}")
            check_pod_spec(problems, where, need(problems, where, doc, "spec", "template", "spec"))
            deployments[name] = labels
        elif kind == "Service":
            if not need(problems, where, doc, "spec", "ports"):
                problems.append(f"{where}: no ports")
        elif kind == "HorizontalPodAutoscaler":
            ref = need(problems, where, doc, "spec", "scaleTargetRef") or {}
            if ref.get("kind") == "Deployment" and ref.get("name") not in deployments:
                problems.append(f"{where}: scales Deployment {ref.get('name')}, not defined in {path}")
            if not (need(problems, where, doc, "spec", "maxReplicas") or 0) >= 1:
                problems.append(f"{where}: maxReplicas must be >= 1")
        elif kind == "InferenceService":
            predictor = need(problems, where, doc, "spec", "predictor") or {}
            check_pod_spec(problems, where, predictor)
        elif kind == "PyTorchJob":
            specs = need(problems, where, doc, "spec", "pytorchReplicaSpecs") or {}
            if "Master" not in specs:
                problems.append(f"{where}: PyTorchJob needs a Master replica spec")
            for role, spec in specs.items():
                if role not in ("Master", "Worker"):
                    problems.append(f"{where}: unknown replica type {role}")
                containers = (spec.get("template", {}).get("spec", {}) or {}).get("containers", [])
                # The training operator finds the container by this exact name.
                if not any(c.get("name") == "pytorch" for c in containers):
                    problems.append(f"{where}: {role} needs a container named 'pytorch'")
                check_pod_spec(problems, f"{where} {role}", spec.get("template", {}).get("spec", {}))
                if role == "Master" and spec.get("replicas", 1) != 1:
                    problems.append(f"{where}: Master must have exactly 1 replica")
    for service in (d for d in docs if d and d.get("kind") == "Service"):
        selector = service.get("spec", {}).get("selector", {})
        if selector and not any(all(l.get(k) == v for k, v in selector.items()) for l in deployments.values()):
            problems.append(f"{path} Service/{service['metadata']['name']}: selector {selector} matches no pod here")
    return problems


def main():
    problems = []
    for path in sys.argv[1:]:
        with open(path) as f:
            try:
                docs = list(yaml.safe_load_all(f))
            except yaml.YAMLError as e:
                problems.append(f"{path}: not YAML: {e}")
                continue
        problems += check(docs, path)
    for p in problems:
        print(p)
    print(f"{len(sys.argv) - 1} file(s), {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
