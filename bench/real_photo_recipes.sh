#!/usr/bin/env bash
# Issue 17's comparison runs: four recipes on UTKFace train + APPA-REAL train (YuNet crops), scored on
# UTKFace val. Here on the CPU one after another (`local`), or on a lent GPU machine, which sees only
# what travels with a call (64 MiB: the working tree, .gpu-deps and the crops) and holds ~15 minutes
# of device time in all. For the GPU the photos stay here; their aligned crops travel as a
# `faceage data crops` export (128-px WebP, ~1.8 KB a face), split over two calls because the
# export and the build's libraries do not fit one.
#
#   bench/real_photo_recipes.sh local [RECIPE...]  HERE: each recipe for EPOCHS (8) epochs on 2 threads,
#                                           in ~/faceage-runs/real17/<recipe> (resumable, skips done runs)
#   bench/real_photo_recipes.sh eval [RECIPE|BUNDLE...]  HERE: `faceage eval` of each run's best.fab (or a
#                                           bundle path) on UTKFace val clean, degraded and APPA-REAL val;
#                                           one row each in ~/faceage-runs/real17/eval/summary.md: clean MAE,
#                                           gender, degraded MAE (n), gap, worst band |bias| on degraded, worst
#                                           band shift (degraded - clean bias), APPA MAE (n), APPA bias, shifts
#   bench/real_photo_recipes.sh pack        HERE: .carry/g17a (val crops, dlib weights, the first PART_A
#                                           train crops) and .carry/g17b (the rest, ImageNet MobileNetV2)
#   bench/real_photo_recipes.sh build       THERE, call 1, carry .gpu-deps .carry/g17a: build the program,
#                                           unpack part A, then a 1-epoch probe of every recipe at once on
#                                           part A (smoke test + img/s, which sets each run's epochs)
#   bench/real_photo_recipes.sh train       THERE, call 2 (within the machine's 30 s warm window), carry
#                                           .carry/g17b: every recipe at once, on all crops, sized to end
#                                           by TRAIN_BUDGET_S; bundles and metrics to $OUT
#   (models/default.fab must be moved aside for both calls: the tree, .gpu-deps and a part fill 64 MiB)
#
# The recipes (each --set over its config):
#   dlib128_robust  configs/train/dlib_resnet_real_photo.yaml           face-pretrained, real_photo aug
#   dlib128_light   the same with augment.preset=light                  (± robust augmentation)
#   mbv2_128_robust configs/train/robust_mobilenet_v2.yaml at 128 px    ImageNet, real_photo aug
#   mbv2_112_robust the same at 112 px                                  (input size)
# Then `faceage eval` of each bundle on UTKFace val (clean, `data degrade --seed 7`) and APPA-REAL
# val through the recorded YuNet pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
G=/tmp/g17                 # the device's working folder (kept between calls on a warm machine)
TRAIN_BUDGET_S=${TRAIN_BUDGET_S:-330}
DEVICE=${DEVICE:-cuda}      # cpu: a dry run of the whole script here (with SKIP_COMPILE=1, build-gpu -> build)
LICENCE="UTKFace and APPA-REAL: non-commercial research use only"
RECIPES=(dlib128_robust dlib128_light mbv2_128_robust mbv2_112_robust)

WEIGHTS=${WEIGHTS:-$G/weights}
recipe_args() {  # recipe -> config and --set arguments
  local w=$WEIGHTS mix="--set face.detector=yunet --set data.train=$HOME/faceage-runs/mix/train.csv"
  case $1 in
    dlib128_robust) echo "-c configs/train/dlib_resnet_real_photo.yaml --set model.pretrained=$w/face_recognition_model-weights_manifest.json" ;;
    dlib128_light) echo "$(recipe_args dlib128_robust) --set augment.preset=light --set name=utk-appa-dlib-128-light" ;;
    mbv2_128_robust) echo "-c configs/train/robust_mobilenet_v2.yaml $mix --set model.pretrained=$w/mobilenet_v2_imagenet.pt --set preprocess.input_size=128 --set name=utk-appa-mbv2-128-real-photo" ;;
    mbv2_112_robust) echo "-c configs/train/robust_mobilenet_v2.yaml $mix --set model.pretrained=$w/mobilenet_v2_imagenet.pt --set name=utk-appa-mbv2-112-real-photo" ;;
  esac
}

pack() {
  local src=${CROPS:-$HOME/faceage-runs/gpu17} shared=${SHARED:-../shared}
  rm -rf .carry/g17a .carry/g17b
  mkdir -p .carry/g17a/mix/images .carry/g17b/mix/images .carry/g17a/weights .carry/g17b/weights
  cp -r "$src/val" .carry/g17a/val
  cp "$src/mix/manifest.csv" "$src/mix/face_pipeline.json" .carry/g17a/mix/
  cp "$shared"/weights/face_recognition_model* .carry/g17a/weights/
  cp "$shared/weights/mobilenet_v2_imagenet.pt" .carry/g17b/weights/
  # Part A: the first PART_A images (APPA-REAL's come last in the manifest, so part A is UTKFace).
  local n=0
  for f in "$src"/mix/images/*; do
    if ((n < ${PART_A:-5500})); then cp "$f" .carry/g17a/mix/images/; else cp "$f" .carry/g17b/mix/images/; fi
    n=$((n + 1))
  done
  du -sb .carry/g17a .carry/g17b .gpu-deps | awk '{printf "%s %.1f MiB\n", $2, $1 / 1048576}'
  echo "working tree: $(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | awk '{printf "%.1f MiB", $1 / 1048576}') (move models/default.fab aside for the calls)"
}

device_env() {
  export PATH=$PATH:/usr/local/cuda/bin
  export LD_LIBRARY_PATH=$PWD/.gpu-deps/stubs:/tmp/faceage-gpu-deps/usr/lib/x86_64-linux-gnu
  LD_PRELOAD=$(g++ -print-file-name=libstdc++.so.6); export LD_PRELOAD
}

run_recipe() {  # name run_dir epochs manifest val [extra --set ...]
  local name=$1 dir=$2 epochs=$3 train=$4 val=$5; shift 5
  # shellcheck disable=SC2046
  build-gpu/faceage --threads 4 --device "$DEVICE" -q train $(recipe_args "$name") --run-dir "$dir" --no-profile \
    --set data.train="$train" --set data.val="$val" --set data.crops_of=$G/mix/face_pipeline.json \
    --set data.cache_dir="$G/cache-$name" --set data.workers=4 --set train.epochs="$epochs" \
    --set train.checkpoint_every_steps=2000 --set "data.licence=\"$LICENCE\"" "$@" > "$dir.log" 2>&1
}

build() {
  local out=${OUT:-/tmp}
  mkdir -p $G; cp -r .carry/g17a/. $G/
  if [[ -z ${SKIP_COMPILE:-} ]]; then
    scripts/gpu-build.sh compile > "$out/compile.log" 2>&1 || { tail -30 "$out/compile.log"; exit 1; }
    tail -3 "$out/compile.log"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  fi
  device_env
  # The probe: part A's images only, 3,000 of them, one epoch, all recipes at once.
  python3 - <<'PY'
import csv, os
g = "/tmp/g17"
rows = list(csv.DictReader(open(f"{g}/mix/manifest.csv")))
have = [r for r in rows if os.path.exists(os.path.join(g, "mix", r["file"]))]
with open(f"{g}/mix/probe.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=rows[0].keys()); w.writeheader(); w.writerows(have[:3000])
val = list(csv.DictReader(open(f"{g}/val/manifest.csv")))
with open(f"{g}/val/probe.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=val[0].keys()); w.writeheader(); w.writerows(val[:256])
print("probe rows", len(have[:3000]))
PY
  local name start=$SECONDS
  # ImageNet MobileNetV2 comes with part B: its probe starts from random weights (the same speed).
  for name in "${RECIPES[@]}"; do
    local no_weights=(); [[ $name == mbv2* ]] && no_weights=(--set model.pretrained=)
    run_recipe "$name" "$G/probe-$name" 1 $G/mix/probe.csv $G/val/probe.csv "${no_weights[@]}" &
  done
  wait || true
  echo "probe: $((SECONDS - start)) s"
  for name in "${RECIPES[@]}"; do
    echo "$name $(tail -1 "$G/probe-$name/metrics.jsonl" 2>/dev/null || tail -5 "$G/probe-$name.log")"
  done
}

train() {
  local out=${OUT:-/tmp}
  [[ -x build-gpu/faceage && -d $G/val ]] || { echo "no build or part A here: the machine was not kept warm"; exit 3; }
  cp -r .carry/g17b/. $G/
  device_env
  local rows; rows=$(($(wc -l < $G/mix/manifest.csv) - 1))
  echo "train rows $rows, images here $(ls $G/mix/images | wc -l)"
  local name epochs start=$SECONDS
  declare -A pids
  for name in "${RECIPES[@]}"; do
    # Epochs that end by the budget at the probe's rate (its one epoch included start-up, so the
    # rate is a floor), leaving ~15 % for validation passes and the crop cache.
    epochs=$(python3 -c "
import json
m = [json.loads(l) for l in open('$G/probe-$name/metrics.jsonl')][-1]
print(max(2, min(30, int(0.85 * $TRAIN_BUDGET_S * m['img_per_s'] / $rows))))")
    echo "$name: $epochs epochs"
    # A run past the budget is stopped (SIGINT: it ends its step; best.fab is the best finished epoch).
    timeout -s INT -k 20 $((TRAIN_BUDGET_S + 45)) bash -c "$(declare -f run_recipe recipe_args); G=$G DEVICE=$DEVICE WEIGHTS=$WEIGHTS LICENCE='$LICENCE'
      run_recipe $name $G/run-$name $epochs $G/mix/manifest.csv $G/val/manifest.csv" &
    pids[$name]=$!
  done
  for name in "${RECIPES[@]}"; do wait "${pids[$name]}" || echo "$name ended with status $?"; done
  echo "training: $((SECONDS - start)) s"
  for name in "${RECIPES[@]}"; do
    echo "== $name"; cat "$G/run-$name/metrics.jsonl" 2>/dev/null | python3 -c "
import json, sys
for l in sys.stdin:
    m = json.loads(l); print(m['epoch'], round(m['val_mae'], 3), round(m['gender_acc'], 4), round(m['img_per_s']), round(m['seconds']))"
  done
  tar czf "$out/results.tgz" -C $G $(cd $G && ls -d probe-*.log run-*.log run-*/metrics.jsonl run-*/config.resolved.yaml probe-*/metrics.jsonl 2>/dev/null)
  for name in "${RECIPES[@]}"; do
    [[ -f $G/run-$name/best.fab ]] || continue
    if [[ $name == dlib* ]]; then split -b 12M -d "$G/run-$name/best.fab" "$out/$name.fab."; else cp "$G/run-$name/best.fab" "$out/$name.fab"; fi
  done
  ls -l "$out"
}

local_runs() {  # one recipe at a time on this machine's photos (the crops of the shared YuNet cache)
  local runs=$HOME/faceage-runs/real17 name
  mkdir -p "$runs"; cp build/faceage "$runs/faceage" 2>/dev/null || true   # a rebuild mid-queue changes nothing
  export FACEAGE_YUNET_MODEL=$PWD/models/face
  for name in "${@:-${RECIPES[@]}}"; do
    [[ -f $runs/$name.done ]] && continue
    # shellcheck disable=SC2046
    "$runs/faceage" --threads 2 train $(WEIGHTS=../shared/weights recipe_args "$name") --run-dir "$runs/$name" \
      --set train.epochs="${EPOCHS:-8}" --set data.workers=2 --set "data.licence=\"$LICENCE\"" > "$runs/$name.log" 2>&1 &&
      touch "$runs/$name.done"
  done
}

eval_runs() {  # scores of every named run (default: all finished) on the three validation sets
  local runs=$HOME/faceage-runs/real17 target name bundle
  local -A sets=([clean]=$HOME/faceage-runs/utk/splits/val.csv [degraded]=$HOME/faceage-runs/utk-val-degraded/manifest.csv
                 [appa]=$HOME/faceage-runs/appa/val.csv)
  export FACEAGE_YUNET_MODEL=$PWD/models/face
  mkdir -p "$runs/eval"
  for target in "${@:-${RECIPES[@]}}"; do
    if [[ -f $target ]]; then bundle=$target; name=$(basename "$target" .fab); else bundle=$runs/$target/best.fab; name=$target; fi
    [[ -f $bundle ]] || { echo "$name: no bundle yet" >&2; continue; }
    for set in clean degraded appa; do
      [[ -s $runs/eval/$name-$set/metrics.json && $runs/eval/$name-$set/metrics.json -nt $bundle ]] && continue
      build/faceage --threads "${EVAL_THREADS:-2}" -q eval --model "$bundle" --data "${sets[$set]}" \
        --report "$runs/eval/$name-$set" > "$runs/eval/$name-$set.txt"
    done
    /usr/bin/python3 - "$runs" "$name" <<'PY' | tee -a "$runs/eval/summary.md"
import json, sys
runs, name = sys.argv[1:]
m = {s: json.load(open(f"{runs}/eval/{name}-{s}/metrics.json")) for s in ("clean", "degraded", "appa")}
clean = {x["name"]: x for x in m["clean"]["by_band"]}
big = [x for x in m["degraded"]["by_band"] if x["count"] >= 50]   # bands with >= 50 images
worst_bias = max(abs(x["bias"]) for x in big)
# What the degradation itself does to each band: degraded bias minus clean bias.
shift = {x["name"]: x["bias"] - clean[x["name"]]["bias"] for x in big}
age = {s: m[s]["age"] for s in m}
print(f"| {name} | {age['clean']['mae']:.2f} | {m['clean']['gender']['accuracy']:.1%} | {age['degraded']['mae']:.2f} "
      f"({age['degraded']['count']}) | {age['degraded']['mae'] - age['clean']['mae']:+.2f} | {worst_bias:.1f} | "
      f"{max(abs(v) for v in shift.values()):.1f} | {age['appa']['mae']:.2f} ({age['appa']['count']}) | {age['appa']['bias']:+.2f} | "
      + " ".join(f"{k}:{v:+.1f}" for k, v in shift.items()) + " |")
PY
  done
}

case ${1:-} in
  local) shift; local_runs "$@" ;;
  eval) shift; eval_runs "$@" ;;
  pack) pack ;;
  build) build ;;
  train) train ;;
  *) echo "usage: $0 local [RECIPE...]|eval [RECIPE|BUNDLE...]|pack|build|train" >&2; exit 2 ;;
esac
