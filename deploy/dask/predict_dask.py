#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Batch prediction on a Dask cluster: each partition of a path list is piped through one
`faceage predict --stdin` process on a worker (one path per line in, one JSON line per face or per
failed image out), the same shape as Spark's RDD.pipe and SageMaker Batch Transform. faceage does
the work; Dask only schedules partitions (docs/scaling.md, "Batch prediction").

  python3 deploy/dask/predict_dask.py INPUT --out predictions.jsonl \\
      [--scheduler tcp://host:8786 | --local-workers 2] [--partition-size 500] \\
      [--faceage PATH] [--faceage-threads N] [-- extra `faceage predict` flags, e.g. --model m.fab]

INPUT: a faceage manifest (CSV whose header has `file` and `age`; files relative to the manifest's
folder, as faceage reads them) or a text file of image paths, one per line. Every worker must see
the paths (shared storage). Output: faceage's JSON lines unchanged, in input order (partitions are
concatenated in order), written atomically. Exit code 1 when some images failed (their error
records are in the output), as `faceage predict`.
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
        header = next(csv.reader([f.readline()]), [])
        f.seek(0)
        if "file" in header and "age" in header:  # a faceage manifest
            paths = [r["file"] if os.path.isabs(r["file"]) else os.path.join(base, r["file"])
                     for r in csv.DictReader(f)]
        else:
            paths = [line.rstrip("\r\n") for line in f if line.strip()]
    for p in paths:
        # The protocol is one path per line: such a path would silently become two inputs.
        if "\n" in p or "\r" in p:
            raise SystemExit(f"error: {path}: a path holds a line break, which --stdin cannot carry: {p!r}")
    return paths


def records_per_image(lines):
    """Splits faceage's JSON lines into one list per input image: an image's records are
    consecutive, numbered from face 0; a failed image has one record with face null."""
    images = []
    for line in lines:
        record = json.loads(line)
        if record.get("face") in (None, 0) or not images or images[-1][0]["file"] != record["file"]:
            images.append([])
        images[-1].append(record)
    return images


def predict_partition(paths, command):
    """Runs on a worker: one faceage process for the whole partition. Returns its output lines
    unchanged after checking that every input got its records, in order."""
    proc = subprocess.run(command, input="".join(p + "\n" for p in paths), capture_output=True, text=True)
    # Exit 1 means some images failed: they are error records in the output and the batch went on.
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"faceage predict --stdin failed ({proc.returncode}): {proc.stderr[-2000:]}")
    lines = proc.stdout.splitlines()
    images = records_per_image(lines)
    files = [image[0]["file"] for image in images]
    if files != paths:
        first = next((i for i, (a, b) in enumerate(zip(files, paths)) if a != b), min(len(files), len(paths)))
        raise RuntimeError(f"faceage answered {len(files)} images for {len(paths)} paths; "
                           f"first difference at path {first} of the partition")
    return lines, sum(1 for image in images if image[0]["error"] is not None)


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input")
    parser.add_argument("--out", required=True)
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (else a local cluster)")
    parser.add_argument("--local-workers", type=int, default=2, help="worker processes of the local cluster")
    parser.add_argument("--partition-size", type=int, default=500,
                        help="paths per faceage process (each loads the model once)")
    parser.add_argument("--faceage", default=shutil.which("faceage") or "faceage")
    parser.add_argument("--faceage-threads", type=int, default=0,
                        help="--threads of each faceage process (0: the cores divided among the local "
                             "workers; faceage's default with --scheduler)")
    args = parser.parse_args(argv)
    if args.partition_size < 1 or args.local_workers < 1:
        parser.error("--partition-size and --local-workers must be at least 1")

    from dask.distributed import Client, LocalCluster  # Debian: python3-distributed

    paths = read_paths(args.input)
    partitions = [paths[i:i + args.partition_size] for i in range(0, len(paths), args.partition_size)]
    faceage = os.path.abspath(args.faceage) if os.path.exists(args.faceage) else args.faceage
    threads = args.faceage_threads
    if threads == 0 and not args.scheduler:
        # One task per worker at a time (threads_per_worker=1), so the cores are shared between
        # the workers' faceage processes instead of each one spawning a thread per core.
        threads = max(1, (os.cpu_count() or 1) // args.local_workers)
    command = [faceage, *(["--threads", str(threads)] if threads > 0 else []), "-q",
               "predict", "--stdin", "--format", "jsonl", *extra]

    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.local_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    start = time.monotonic()
    records = failed = 0
    try:
        futures = client.map(predict_partition, partitions, command=command, pure=False)
        tmp = f"{args.out}.tmp.{os.getpid()}"
        try:
            with open(tmp, "w") as out:
                for i in range(len(futures)):  # in partition order
                    lines, partition_failed = futures[i].result()
                    futures[i] = None  # release the partition's result on the cluster
                    for line in lines:
                        out.write(line + "\n")
                    records += len(lines)
                    failed += partition_failed
            os.replace(tmp, args.out)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)  # a reader never sees half an output
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    seconds = time.monotonic() - start
    print(f"{len(paths)} images in {len(partitions)} partitions, {records} records, {failed} failed, "
          f"{seconds:.1f} s ({len(paths) / max(seconds, 1e-9):.1f} images/s)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
