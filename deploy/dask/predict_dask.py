#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Batch prediction on a Dask cluster: each manifest partition is piped through one
`faceage predict --stdin` process on a worker (one path per line in, one JSON line per face out),
the same shape Spark's RDD.pipe and SageMaker Batch Transform use. faceage does the work; Dask only
schedules partitions (docs/scaling.md).

  python3 deploy/dask/predict_dask.py MANIFEST_OR_LIST --out predictions.jsonl \
      [--scheduler tcp://host:8786 | --local-workers 2] [--partition-size 500] [--faceage PATH] [-- extra predict flags]

MANIFEST_OR_LIST: a faceage manifest (CSV with a `file` column, relative to the manifest) or a text
file of image paths, one per line. Output: JSON lines, one per face or per failed image, in input
order (partitions are concatenated in order).
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time


def read_paths(path):
    base = os.path.dirname(os.path.abspath(path))
    with open(path, newline="") as f:
        first = f.readline()
        f.seek(0)
        if "," in first and "file" in [c.strip() for c in first.strip().split(",")]:
            return [r["file"] if os.path.isabs(r["file"]) else os.path.join(base, r["file"]) for r in csv.DictReader(f)]
        return [line.strip() for line in f if line.strip()]


def predict_partition(paths, faceage, extra):
    """Runs on a worker: one faceage process for the whole partition."""
    proc = subprocess.run([faceage, "-q", "predict", "--stdin", "--format", "jsonl", *extra],
                          input="\n".join(paths) + "\n", capture_output=True, text=True)
    # Exit 1 means some images failed: they are error records in the output, the batch went on.
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"faceage predict failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input")
    parser.add_argument("--out", required=True)
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    parser.add_argument("--local-workers", type=int, default=2, help="start a local cluster of this many workers")
    parser.add_argument("--threads-per-worker", type=int, default=1)
    parser.add_argument("--partition-size", type=int, default=500)
    parser.add_argument("--faceage", default=shutil.which("faceage") or "faceage")
    args = parser.parse_args(argv)

    from dask.distributed import Client, LocalCluster  # Debian: python3-distributed

    paths = read_paths(args.input)
    partitions = [paths[i:i + args.partition_size] for i in range(0, len(paths), args.partition_size)]
    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.local_workers, threads_per_worker=args.threads_per_worker,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
    start = time.time()
    try:
        futures = client.map(predict_partition, partitions, faceage=os.path.abspath(args.faceage)
                             if os.path.exists(args.faceage) else args.faceage, extra=extra, pure=False)
        records = 0
        tmp = args.out + ".tmp"
        with open(tmp, "w") as out:
            for future in futures:  # in partition order
                for record in future.result():
                    out.write(json.dumps(record) + "\n")
                    records += 1
        os.replace(tmp, args.out)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    seconds = time.time() - start
    print(f"{len(paths)} images in {len(partitions)} partitions, {records} records, "
          f"{seconds:.1f} s ({len(paths) / max(seconds, 1e-9):.1f} images/s)", file=sys.stderr)


if __name__ == "__main__":
    main()
