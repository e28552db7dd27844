# Sourced by the SageMaker training tests: a tiny /opt/ml tree in "$1" (train and validation
# channels of synthetic faces, hyperparameters.json with string values as SageMaker writes them)
# that trains in seconds.
#   make_sagemaker_tree ML
make_sagemaker_tree() {
  local ml=$1
  /usr/bin/python3 "$FACEAGE_SOURCE_DIR/tests/support/make_synthetic_faces.py" "$ml/input/data/train" --count 32 --seed 1
  /usr/bin/python3 "$FACEAGE_SOURCE_DIR/tests/support/make_synthetic_faces.py" "$ml/input/data/validation" --count 16 --seed 2
  mkdir -p "$ml/input/config"
  cat > "$ml/input/config/hyperparameters.json" <<'JSON'
{"face.detector": "none", "face.crop_size": "48", "preprocess.input_size": "32", "train.epochs": "1",
 "train.batch_size": "16", "train.eval_batch_size": "16", "data.workers": "1", "data.licence": "synthetic",
 "sagemaker_program": "train"}
JSON
}
