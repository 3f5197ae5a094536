// Small ONNX graphs written by hand (the pass-through stand-in, the mask-agreement counter, the
// tests' tiny models), with the EPContext wrapper's protobuf writer: value infos, nodes,
// attributes and a whole opset-13 model.
import { ONNX_DTYPE, type ModelInfo } from './epcontext.js';
import { Writer } from './protobuf.js';

export function valueInfo(name: string, elemType: number, shape: (number | string)[]) {
  const sh = new Writer();
  for (const d of shape) sh.msg(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().bytes(2, d));
  return new Writer().bytes(1, name).msg(2, new Writer().msg(1, new Writer().int(1, elemType).msg(2, sh)));
}

export function onnxNode(op: string, inputs: string[], outputs: string[], attrs: Writer[] = []) {
  const n = new Writer();
  for (const i of inputs) n.bytes(1, i);
  for (const o of outputs) n.bytes(2, o);
  n.bytes(3, `${op}_${outputs[0]}`).bytes(4, op);
  for (const a of attrs) n.msg(5, a);
  return n;
}

export const intAttr = (name: string, v: number) => new Writer().bytes(1, name).int(3, v).int(20, 2);
export const intsAttr = (name: string, v: number[]) => {
  const w = new Writer().bytes(1, name);
  for (const x of v) w.int(8, x);
  return w.int(20, 7);
};

/** A whole ONNX model (opset 13) from graph nodes, its inputs and its outputs. */
export function onnxModel(graphName: string, nodes: Writer[], input: Writer | Writer[], output: Writer | Writer[]): Buffer {
  const graph = new Writer();
  for (const n of nodes) graph.msg(1, n);
  graph.bytes(2, graphName);
  for (const i of [input].flat()) graph.msg(11, i);
  for (const o of [output].flat()) graph.msg(12, o);
  return new Writer().int(1, 8).bytes(2, 'crackscope').msg(7, graph).msg(8, new Writer().bytes(1, '').int(2, 13)).finish();
}

/**
 * What TensorRT's ONNX parser needs at a uint8 model's edges (onnx-tensorrt docs/operators.md:
 * "UINT8 is only supported as network input or output tensor types"; the only uint8 conversions
 * are casts to and from float/half). Problems, one line each; [] when the graph is fine:
 *   - every uint8 graph input is read by exactly one node, a Cast (not a Transpose: the first
 *     crackunet exports did that, and trtexec would refuse the model);
 *   - with `output: true`, every uint8 graph output is written by a Cast(to=uint8) of Clip(Round(x)):
 *     TensorRT's float->uint8 cast truncates, so the value must already be rounded and in 0..255.
 */
export function tensorrtIoProblems(info: ModelInfo, opts: { output?: boolean } = {}): string[] {
  const problems: string[] = [];
  const readers = (name: string) => info.nodes.filter((n) => n.inputs.includes(name));
  const writer = (name: string) => info.nodes.find((n) => n.outputs.includes(name));
  for (const input of info.inputs) {
    if (input.elemType !== ONNX_DTYPE.uint8) continue;
    const r = readers(input.name);
    if (r.length !== 1 || r[0].opType !== 'Cast') {
      problems.push(
        `uint8 input ${input.name} is read by ${r.map((n) => n.opType).join(', ') || 'nothing'}; TensorRT takes uint8 only into a Cast (rewrite: scripts/onnx_cast_first.py)`,
      );
    }
  }
  if (opts.output) {
    for (const output of info.outputs) {
      if (output.elemType !== ONNX_DTYPE.uint8) continue;
      const cast = writer(output.name);
      const clip = cast && cast.opType === 'Cast' ? writer(cast.inputs[0]) : undefined;
      const round = clip && clip.opType === 'Clip' ? writer(clip.inputs[0]) : undefined;
      const chain = [cast, clip, round]
        .map((n) => n?.opType ?? '—')
        .reverse()
        .join(' -> ');
      if (
        cast?.opType !== 'Cast' ||
        (cast.attributes.to as { i?: number } | undefined)?.i !== ONNX_DTYPE.uint8 ||
        clip?.opType !== 'Clip' ||
        round?.opType !== 'Round'
      ) {
        problems.push(`uint8 output ${output.name} is written by ${chain}; want Round -> Clip -> Cast(to=uint8) (TensorRT's cast truncates)`);
      }
    }
  }
  return problems;
}
