#!/usr/bin/env bash
# The model comparison of docs/model-card.md under one short protocol (CPU budget): every variant
# trains 3 epochs on the same seeded 4,000-image subset of the train split and is scored on the same
# seeded 1,000-image subset of the val split (flip averaging on). Results: <out>/compare.csv.
#
#   scripts/compare-models.sh [faceage binary] [out dir]      (defaults: build/faceage ~/faceage-runs/compare)
# Needs the UTKFace splits of configs/train/mobilenet_v2.yaml and ../shared/weights.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$src/build/faceage}
out=${2:-$HOME/faceage-runs/compare}
weights=${FACEAGE_PRETRAINED:-$src/../shared/weights/mobilenet_v2_imagenet.pt}
mkdir -p "$out"
protocol=(--set data.limit_train=4000 --set data.limit_val=1000 --set train.epochs=3
          --set train.checkpoint_every_steps=50)
declare -A variants=(
  [mbv2-112-dist-medium]="--set model.pretrained=$weights"
  [mbv2-112-l1-medium]="--set model.pretrained=$weights --set model.age_head=regression --set loss.age=l1"
  [mbv2-160-dist-medium]="--set model.pretrained=$weights --set preprocess.input_size=160"
  [mbv2-112-dist-light]="--set model.pretrained=$weights --set augment.preset=light"
  [mbv2-112-dist-strong]="--set model.pretrained=$weights --set augment.preset=strong"
  [resnet18-112-scratch]="--set model.pretrained= --set model.arch=resnet18 --set train.batchnorm=train --set preprocess.mean=[0.485,0.456,0.406] --set preprocess.std=[0.229,0.224,0.225]"
)
order=(mbv2-112-dist-medium mbv2-112-l1-medium mbv2-112-dist-light mbv2-112-dist-strong resnet18-112-scratch mbv2-160-dist-medium)
for name in "${order[@]}"; do
  [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $name "* ]] || continue
  # shellcheck disable=SC2086
  "$bin" -q train -c "$src/configs/train/mobilenet_v2.yaml" --run-dir "$out/$name" "${protocol[@]}" ${variants[$name]} \
    > "$out/$name.log" 2>&1 || echo "$name failed: see $out/$name.log"
done
/usr/bin/python3 - "$out" "${order[@]}" <<'PY'
import json, os, sys
out, names = sys.argv[1], sys.argv[2:]
rows = ["variant,epochs,best_val_mae,val_rmse,val_cs5,gender_acc,img_per_s,minutes"]
for n in names:
    p = os.path.join(out, n, "metrics.jsonl")
    if not os.path.exists(p):
        continue
    ms = [json.loads(l) for l in open(p)]
    best = min(ms, key=lambda m: m["val_mae"])
    minutes = sum(m["seconds"] for m in ms) / 60
    rows.append(f'{n},{len(ms)},{best["val_mae"]:.2f},{best["val_rmse"]:.2f},{best["val_cs5"]:.3f},'
                f'{best["gender_acc"]:.3f},{sum(m["img_per_s"] for m in ms)/len(ms):.1f},{minutes:.1f}')
open(os.path.join(out, "compare.csv"), "w").write("\n".join(rows) + "\n")
print("\n".join(rows))
PY
