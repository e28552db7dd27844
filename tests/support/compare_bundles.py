#!/usr/bin/env python3
"""Compares the weights of two faceage bundles (.fab): every tensor within a tolerance.
Usage: compare_bundles.py A.fab B.fab [--atol 1e-5] [--rtol 1e-4]; exit 1 naming the worst tensor."""
import argparse
import json
import sys
import zipfile

import numpy as np

DTYPES = {"float32": np.float32, "float16": np.float16, "float64": np.float64, "int64": np.int64, "int32": np.int32}


def tensors(path):
    with zipfile.ZipFile(path) as archive:
        names = {name.split("/", 1)[1]: name for name in archive.namelist() if "/" in name}
        index = json.loads(archive.read(names["tensors.json"]))
        return {entry["name"]: np.frombuffer(archive.read(names[entry["record"]]), DTYPES[entry["stored"]]).astype(np.float64)
                for entry in index}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--rtol", type=float, default=1e-4)
    args = parser.parse_args()
    a, b = tensors(args.a), tensors(args.b)
    if a.keys() != b.keys():
        sys.exit(f"different tensors: {sorted(a.keys() ^ b.keys())[:5]}")
    worst, worst_name = 0.0, ""
    for name in a:
        excess = np.abs(a[name] - b[name]) - (args.atol + args.rtol * np.abs(b[name]))
        if excess.size and excess.max() > worst:
            worst, worst_name = excess.max(), name
    diff = max(float(np.abs(a[n] - b[n]).max(initial=0)) for n in a)
    if worst > 0:
        sys.exit(f"weights differ beyond atol {args.atol} rtol {args.rtol}: worst {worst_name} (max |a-b| {diff:.3g})")
    print(f"{len(a)} tensors equal within atol {args.atol} rtol {args.rtol} (max |a-b| {diff:.3g})")


if __name__ == "__main__":
    main()
