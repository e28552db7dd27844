#!/usr/bin/python3
"""Writes fixed-input-shape copies of the released YuNet ONNX model.

OpenCV 4.6's cv::FaceDetectorYN refuses YuNet's dynamic N x 3 x H x W input, so faceage ships
copies whose input is fixed to 1 x 3 x H x W (docs/face.md says which shapes and why).

  /usr/bin/python3 scripts/make-yunet-variants.py SOURCE.onnx OUT_DIR WxH [WxH ...]

writes OUT_DIR/yunet_<W>x<H>.onnx for each shape and prints each file's SHA-256. Debian package:
python3-onnx. The output is a pure function of the source file and the shape.
"""
import hashlib
import os
import sys

import onnx
from onnx import shape_inference


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fixed_shape_copy(source, width, height):
    model = onnx.load(source)
    graph = model.graph
    # Only the image input is a real graph input (older exporters also list initializers there).
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1:
        sys.exit(f"expected one image input, found {[i.name for i in inputs]}")
    dims = inputs[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        sys.exit(f"expected an N x 3 x H x W input, found {len(dims)} dimensions")
    for dim, value in zip(dims, (1, 3, height, width)):
        dim.ClearField("dim_param")
        dim.dim_value = value
    # Stale intermediate and output shapes (symbolic or from another size) would contradict the
    # new input: drop them and let shape inference recompute every one.
    del graph.value_info[:]
    for output in graph.output:
        output.type.tensor_type.ClearField("shape")
    model = shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model)
    return model


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    source, out_dir, shapes = argv[1], argv[2], argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    print(f"source {source} sha256 {sha256(source)}")
    for shape in shapes:
        width, height = (int(v) for v in shape.lower().split("x"))
        out = os.path.join(out_dir, f"yunet_{width}x{height}.onnx")
        onnx.save(fixed_shape_copy(source, width, height), out)
        print(f"{out} sha256 {sha256(out)} bytes {os.path.getsize(out)}")


if __name__ == "__main__":
    main(sys.argv)
