#!/usr/bin/python3
"""Would dividing out the training age prior fix the per-band bias? (issue 17, 2026-12-06)

A distribution head trained on a set of labels learns p(age | face) under that set's age prior; as
evidence weakens (degraded photos) the decoded mean shrinks toward the prior's bulk, so the old are
pulled down and the young up. This re-decodes each answer with the prior divided out to the power
lam: q(a) ~ p(a | face) / prior(a)^lam, the prior being the training labels' histogram smoothed as
DLDL smooths them (sigma 2). p(a | face) is approximated by N(age, age_std^2) on 0..100 from
`faceage predict` records (the bundle does not print its distribution).

Usage (records from `faceage predict --stdin --largest-face --precision float32 -f jsonl`):
  bench/prior_correction.py TRAIN_MANIFEST NAME=RECORDS.jsonl,MANIFEST [NAME=...]
Prints MAE, mean bias and bias per band of true age (n) for lam in 0 (the records as they are),
0.25, 0.5, 0.75, 1.
"""
import csv
import json
import os
import sys

import numpy as np

AGES = np.arange(101)
BANDS = [(0, 2), (3, 9), (10, 17), (18, 29), (30, 39), (40, 49), (50, 59), (60, 69), (70, 200)]


def manifest_ages(path):
    base = os.path.dirname(path)
    return {os.path.normpath(os.path.join(base, r["file"])): float(r["age"])
            for r in csv.DictReader(open(path)) if r.get("age")}


def training_prior(path):
    ages = np.clip(np.round(list(manifest_ages(path).values())), 0, 100).astype(int)
    hist = np.bincount(ages, minlength=101).astype(float)
    smooth = np.exp(-0.5 * ((AGES[:, None] - AGES[None, :]) / 2.0) ** 2) @ hist
    return np.maximum(smooth / smooth.sum(), 1e-4)


def answered(records_path, manifest_path):
    truth = manifest_ages(manifest_path)
    rows = []
    for line in open(records_path):
        rec = json.loads(line)
        if rec.get("error") or rec.get("face") != 0:
            continue
        f = os.path.normpath(rec["file"])
        if f in truth:
            rows.append((truth[f], rec["age"], max(rec["age_std"], 0.5)))
    return np.array(rows)


def main():
    prior = training_prior(sys.argv[1])
    for spec in sys.argv[2:]:
        name, paths = spec.split("=", 1)
        truth, age, std = answered(*paths.split(",")).T
        print(f"== {name} (n={len(truth)})")
        for lam in (0, 0.25, 0.5, 0.75, 1.0):
            if lam == 0:
                pred = age
            else:
                p = np.exp(-0.5 * ((AGES[None, :] - age[:, None]) / std[:, None]) ** 2) / prior[None, :] ** lam
                pred = (p / p.sum(1, keepdims=True)) @ AGES
            err = pred - truth
            bands = []
            for lo, hi in BANDS:
                sel = (truth >= lo) & (truth <= hi)
                bands.append(f"{lo}{'+' if hi > 100 else '-' + str(hi)} {err[sel].mean():+.1f} ({sel.sum()})" if sel.any() else "")
            print(f"lam {lam:.2f}  MAE {np.abs(err).mean():.3f}  bias {err.mean():+.2f} | " + ", ".join(bands))


if __name__ == "__main__":
    main()
