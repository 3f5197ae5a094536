#!/usr/bin/env python3
"""Puts the uint8 input's Cast before any layout op, so TensorRT's ONNX parser can take the model.

    /usr/bin/python3 scripts/onnx_cast_first.py models/crackunet-v1.onnx [OUT.onnx]   (default: in place)
    /usr/bin/python3 scripts/onnx_cast_first.py --check models/*.onnx                 (exit 1 if one needs it)

TensorRT accepts UINT8 only as a network input or output converted by a Cast (or Identity); the
first exports of crackunet-v1/v2 fed the uint8 image into Transpose(perm=0,3,1,2) and only then
into Cast(to=float). This rewrites

    image:uint8 -> Transpose(perm) -> t -> Cast(to=F) -> x
into
    image:uint8 -> Cast(to=F) -> c -> Transpose(perm) -> x

Every value is an integer 0..255 either way and Transpose only moves elements, so the output is
bit-identical (test/onnx-models.test.ts runs both with onnxruntime and compares the masks). The
rewrite applies only when the input's one consumer is a Transpose whose one consumer is a Cast;
anything else is left alone and reported. Needs only the `onnx` package (Debian: python3-onnx).
"""
import sys

import onnx
from onnx import TensorProto, helper


def consumers(graph, name):
    return [n for n in graph.node if name in n.input]


def input_cast_first(graph):
    """(ok, why): whether every uint8 graph input is read only by a Cast."""
    for inp in graph.input:
        if inp.type.tensor_type.elem_type != TensorProto.UINT8:
            continue
        users = consumers(graph, inp.name)
        if len(users) != 1 or users[0].op_type != "Cast":
            return False, f"input {inp.name} (uint8) is read by {[u.op_type for u in users]}, not by one Cast"
    return True, "uint8 inputs go straight into a Cast"


def rewrite(model):
    g = model.graph
    changed = 0
    for inp in g.input:
        if inp.type.tensor_type.elem_type != TensorProto.UINT8:
            continue
        users = consumers(g, inp.name)
        if len(users) == 1 and users[0].op_type == "Cast":
            continue
        if len(users) != 1 or users[0].op_type != "Transpose":
            raise SystemExit(f"onnx_cast_first: input {inp.name} is read by {[u.op_type for u in users]}; only Transpose -> Cast is rewritten")
        tr = users[0]
        after = consumers(g, tr.output[0])
        if len(after) != 1 or after[0].op_type != "Cast" or any(o.name == tr.output[0] for o in g.output):
            raise SystemExit(f"onnx_cast_first: {tr.name} output is read by {[a.op_type for a in after]}; want exactly one Cast")
        cast = after[0]
        to = next(a.i for a in cast.attribute if a.name == "to")
        cast_out = f"{inp.name}_as_{TensorProto.DataType.Name(to).lower()}"
        final = cast.output[0]
        # Cast(image) -> cast_out; Transpose(cast_out) -> final (the old Cast output name, so the rest is untouched)
        new_cast = helper.make_node("Cast", [inp.name], [cast_out], name=cast.name or "input_cast", to=to)
        new_tr = helper.make_node("Transpose", [cast_out], [final], name=tr.name or "input_transpose")
        new_tr.attribute.extend([a for a in tr.attribute])
        nodes = list(g.node)
        i = nodes.index(tr)
        nodes = [n for n in nodes if n is not tr and n is not cast]
        nodes[i:i] = [new_cast, new_tr]
        del g.node[:]
        g.node.extend(nodes)
        # value_info for the old intermediate is stale now (it was uint8 NCHW)
        for vi in [v for v in g.value_info if v.name in (tr.output[0], final)]:
            g.value_info.remove(vi)
        changed += 1
    return changed


def main():
    args = sys.argv[1:]
    if args and args[0] == "--check":
        bad = 0
        for path in args[1:]:
            ok, why = input_cast_first(onnx.load(path).graph)
            print(f"{path}: {'ok' if ok else 'NEEDS REWRITE'}: {why}")
            bad += not ok
        return 1 if bad else 0
    if len(args) not in (1, 2):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 64
    src = args[0]
    dst = args[1] if len(args) == 2 else src
    model = onnx.load(src)
    n = rewrite(model)
    onnx.checker.check_model(model)
    ok, why = input_cast_first(model.graph)
    if not ok:
        raise SystemExit(f"onnx_cast_first: still not cast-first: {why}")
    if n == 0 and dst == src:
        print(f"{src}: already cast-first, unchanged", file=sys.stderr)
        return 0
    onnx.save(model, dst)
    print(f"{src}: {n} input(s) rewritten to Cast -> Transpose; written to {dst}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
