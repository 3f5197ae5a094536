// Small ONNX graphs written by hand (the pass-through stand-in, the mask-agreement counter, the
// tests' tiny models), with the EPContext wrapper's protobuf writer: value infos, nodes,
// attributes and a whole opset-13 model.
import { Writer } from './epcontext.js';

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
