# Sourced by the training tests: synthetic face crops (96 train, 32 val) and a tiny config in
# "$1/tiny.yaml" that trains in seconds. The settings the tests vary are arguments with defaults:
#   make_tiny_training DIR [WORKERS=2] [HEAD_DROPOUT=0.1] [EPOCHS=3] [BATCHNORM=train]
make_tiny_training() {
  local work=$1 workers=${2:-2} dropout=${3:-0.1} epochs=${4:-3} batchnorm=${5:-train}
  /usr/bin/python3 "$FACEAGE_SOURCE_DIR/tests/support/make_synthetic_faces.py" "$work/train" --count 96 --seed 1
  /usr/bin/python3 "$FACEAGE_SOURCE_DIR/tests/support/make_synthetic_faces.py" "$work/val" --count 32 --seed 2
  cat > "$work/tiny.yaml" <<YAML
seed: 5
data: {train: $work/train/manifest.csv, val: $work/val/manifest.csv, cache_dir: $work/cache, workers: $workers}
face: {detector: none, crop_size: 48}
model: {arch: mobilenet_v2, age_head: distribution, head_dropout: $dropout}
preprocess: {input_size: 32}
augment: {preset: medium}
loss: {age: dldl}
optimizer: {name: adamw, lr: 0.002}
schedule: {name: onecycle}
ema: {enabled: true, decay: 0.9}
train: {epochs: $epochs, batch_size: 16, eval_batch_size: 32, checkpoint_every_steps: 2, batchnorm: $batchnorm}
YAML
}
