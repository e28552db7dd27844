#!/usr/bin/python3
"""Writes the provenance record of a shipped bundle (models/<name>.json): the exact training command,
the resolved config, checksums of the data (labels file, split files, and the image list), the
training history, and the metrics of `faceage eval --model` on each split given.

  scripts/record-model.py --bundle models/default.fab --run-dir ~/faceage-runs/default-mbv2-112 \
      --command "faceage train ..." --labels ../shared/data/utkface/labels.csv \
      --eval val=reports/val/metrics.json --eval test=reports/test/metrics.json --out models/default.json

For an ensemble file (`faceage models ensemble`), give --run-dir and --command once per member, in
member order, and --pack-command for the packing step: each member gets its own training record.
For a weight average (`faceage models average`), give --run-dir and --command once per source, in
the command's order, and --average-command: each source gets its own training record under "sources".
"""
import argparse, hashlib, json, os, subprocess, sys


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def training_record(run_dir, command, labels):
    """The command, resolved config, data checksums and history of one training run."""
    run = os.path.expanduser(run_dir)
    config_text = open(os.path.join(run, "config.resolved.yaml")).read()
    history = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
    data = {}
    if labels:
        data["labels"] = {"file": os.path.basename(labels), "sha256": sha256(labels)}
    for line in config_text.splitlines():
        key = line.strip().split(":", 1)[0]
        if key in ("train", "extra_train", "val") and line.startswith("  ") and ":" in line:
            value = line.split(":", 1)[1].strip().strip('"')
            path = os.path.expanduser(value)
            if value not in ("", "~", "null") and os.path.isfile(path):  # ~ is YAML's null (a key emptied by --set)
                rows = open(path).read().splitlines()[1:]
                data[key] = {"file": os.path.basename(path), "sha256": sha256(path), "rows": len(rows)}
    return {"command": command, "config": config_text, "data": data, "training_history": history}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--run-dir", action="append", required=True, help="training run folder (per member)")
    ap.add_argument("--command", action="append", required=True, help="training command (per member)")
    ap.add_argument("--pack-command", help="for an ensemble: the faceage models ensemble command")
    ap.add_argument("--average-command", help="for a weight average: the faceage models average command")
    ap.add_argument("--labels", help="the dataset's label file")
    ap.add_argument("--eval", action="append", default=[], help="split=metrics.json of faceage eval --report")
    ap.add_argument("--extra", action="append", default=[], help="key=json file to embed (e.g. comparisons)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if len(a.run_dir) != len(a.command):
        ap.error("give one --command per --run-dir")
    if a.average_command and a.pack_command:
        ap.error("a bundle is an ensemble or a weight average, not both")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    record = {
        "bundle": os.path.basename(a.bundle),
        "bundle_sha256": sha256(a.bundle),
        "bundle_bytes": os.path.getsize(a.bundle),
        "faceage_commit": commit,
    }
    runs = [training_record(run_dir, command, a.labels) for run_dir, command in zip(a.run_dir, a.command)]
    if a.average_command:
        record["average_command"] = a.average_command
        record["sources"] = runs
    elif len(runs) == 1:
        record.update(runs[0])
    else:
        record["pack_command"] = a.pack_command
        record["members"] = runs
    record["eval"] = {}
    for item in a.eval:
        split, path = item.split("=", 1)
        m = json.load(open(path))
        record["eval"][split] = {k: m[k] for k in m if k not in ("records",)}
    for item in a.extra:
        key, path = item.split("=", 1)
        record[key] = json.load(open(path))
    with open(a.out + ".tmp", "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    os.replace(a.out + ".tmp", a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    sys.exit(main())
