#!/usr/bin/env python3
"""FP16 copy of a crackscope ONNX model: the same weights, stored and computed in float16.

    python3 scripts/onnx_fp16.py models/crackunet-v1.onnx /tmp/fp16/crackunet-v1-fp16.onnx
    python3 scripts/onnx_fp16.py --weight-bits 3 MODEL.onnx OUT.onnx   (a deliberately degraded copy)

Needs only the `onnx` package (Debian: python3-onnx, run with /usr/bin/python3; the GPU machine's
pip onnx works too); onnxconverter-common is not used. The I/O contract stays: uint8 NHWC in,
uint8 NHW out. What changes:
  * every float32 initializer and Constant becomes float16 (values rounded to nearest);
  * the input Cast(to=float) becomes Cast(to=float16), so all activations are float16;
  * the 'scales' input of Resize stays float32 (the operator requires it);
  * value_info is dropped (shape inference fills it again) and the opset is unchanged.
The manifest is copied beside the output with the name and version marked '-fp16'.

--weight-bits N first rounds every Conv weight tensor to N bits (symmetric, per output channel),
which no deployment would do: a deliberately degraded precision variant, for testing that the
acceptance gate (`crackscope compare`, build-engine) refuses one.

On onnxruntime's CPU provider most float16 operators have no kernel; onnxruntime then inserts
casts and runs them in float32, so there the comparison measures the float16 weights and the
float16 rounding between fused blocks. On WebGPU (shader-f16) and TensorRT it runs in float16.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

# inputs that must stay float32 whatever the model's precision: (op_type, input index)
KEEP_FLOAT32 = {("Resize", 2), ("Resize", 1), ("Upsample", 1)}


def to_fp16_tensor(t: onnx.TensorProto) -> onnx.TensorProto:
    arr = numpy_helper.to_array(t).astype(np.float16)
    return numpy_helper.from_array(arr, t.name)


def degrade_weights(model: onnx.ModelProto, bits: int) -> int:
    """Rounds each Conv weight to `bits` bits per output channel; returns how many tensors changed."""
    conv_weights = {n.input[1] for n in model.graph.node if n.op_type == "Conv" and len(n.input) > 1}
    levels = 2 ** (bits - 1) - 1
    changed = 0
    for i, t in enumerate(model.graph.initializer):
        if t.name in conv_weights and t.data_type == TensorProto.FLOAT:
            w = numpy_helper.to_array(t).astype(np.float32)
            scale = np.abs(w).reshape(w.shape[0], -1).max(axis=1).reshape((-1,) + (1,) * (w.ndim - 1)) / levels
            scale[scale == 0] = 1
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array((np.round(w / scale) * scale).astype(np.float32), t.name))
            changed += 1
    return changed


def convert(model: onnx.ModelProto) -> onnx.ModelProto:
    g = model.graph
    keep = set()
    for n in g.node:
        for i, name in enumerate(n.input):
            if (n.op_type, i) in KEEP_FLOAT32 and name:
                keep.add(name)
    converted = 0
    for i, t in enumerate(g.initializer):
        if t.data_type == TensorProto.FLOAT and t.name not in keep:
            g.initializer[i].CopyFrom(to_fp16_tensor(t))
            converted += 1
    for n in g.node:
        if n.op_type == "Constant" and n.output[0] not in keep:
            for a in n.attribute:
                if a.name == "value" and a.t.data_type == TensorProto.FLOAT:
                    a.t.CopyFrom(to_fp16_tensor(a.t))
                    converted += 1
        if n.op_type == "Cast":
            for a in n.attribute:
                if a.name == "to" and a.i == TensorProto.FLOAT:
                    a.i = TensorProto.FLOAT16
        if n.op_type in ("EyeLike", "RandomNormal", "RandomUniform", "ConstantOfShape"):
            raise SystemExit(f"onnx_fp16: operator {n.op_type} is not handled by this converter")
    for io in list(g.input) + list(g.output):
        if io.type.tensor_type.elem_type == TensorProto.FLOAT:
            raise SystemExit(f"onnx_fp16: graph I/O {io.name} is float; crackscope models have uint8 I/O")
    del g.value_info[:]
    model.doc_string = (model.doc_string + " [float16 copy by crackscope scripts/onnx_fp16.py]").strip()
    onnx.checker.check_model(model)
    model = onnx.shape_inference.infer_shapes(model)
    print(f"onnx_fp16: {converted} float tensors converted to float16", file=sys.stderr)
    return model


def main() -> int:
    args = sys.argv[1:]
    bits = 0
    if len(args) == 4 and args[0] == "--weight-bits" and args[1].isdigit() and 2 <= int(args[1]) <= 8:
        bits = int(args[1])
        args = args[2:]
    if len(args) != 2:
        print("usage: onnx_fp16.py [--weight-bits 2..8] IN.onnx OUT.onnx", file=sys.stderr)
        return 64
    src, dst = args
    model = onnx.load(src)
    if bits:
        print(f"onnx_fp16: {degrade_weights(model, bits)} Conv weight tensors rounded to {bits} bits (degraded on purpose)", file=sys.stderr)
    model = convert(model)
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    onnx.save(model, dst)
    manifest_src = os.path.splitext(src)[0] + ".json"
    if os.path.exists(manifest_src):
        with open(manifest_src) as f:
            m = json.load(f)
        m["name"] = os.path.splitext(os.path.basename(dst))[0]
        m["version"] = f"{m.get('version', '')}-fp16" + (f"-w{bits}" if bits else "")
        m.setdefault("training", {})["precision"] = "fp16 (scripts/onnx_fp16.py)" + (f", Conv weights rounded to {bits} bits on purpose" if bits else "")
        with open(os.path.splitext(dst)[0] + ".json", "w") as f:
            json.dump(m, f, indent=2)
            f.write("\n")
    print(f"onnx_fp16: wrote {dst} ({os.path.getsize(dst)} bytes, from {os.path.getsize(src)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
