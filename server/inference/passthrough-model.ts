// A model-free stand-in with the product's I/O contract (uint8 NHWC image in, uint8 NHW mask out):
// one ReduceMax over the colour channels, run by onnxruntime like any model. `crackscope bench
// --passthrough` runs the whole service path with it, so what is left of the frame time is the
// cost of everything but the model (capture, worker hop, ORT call, JPEG, mask, WebSocket): the
// pipeline's non-model ceiling in fps. Written with the EPContext wrapper's protobuf writer.
import fs from 'node:fs';
import path from 'node:path';
import { ONNX_DTYPE, Writer } from './epcontext.js';

export const PASSTHROUGH_NAME = 'passthrough';

export function valueInfo(name: string, elemType: number, shape: (number | string)[]) {
  const sh = new Writer();
  for (const d of shape) sh.msg(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().bytes(2, d));
  return new Writer().bytes(1, name).msg(2, new Writer().msg(1, new Writer().int(1, elemType).msg(2, sh)));
}

export function onnxNode(op: string, inputs: string[], outputs: string[], attrs: Writer[]) {
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

/** A whole ONNX model (opset 13) from graph nodes and its one input and output. */
export function onnxModel(graphName: string, nodes: Writer[], input: Writer, output: Writer): Buffer {
  const graph = new Writer();
  for (const n of nodes) graph.msg(1, n);
  graph.bytes(2, graphName).msg(11, input).msg(12, output);
  return new Writer().int(1, 8).bytes(2, 'crackscope').msg(7, graph).msg(8, new Writer().bytes(1, '').int(2, 13)).finish();
}

/** mask = max(R, G, B), uint8 all the way (no float conversion: the cheapest whole-frame op). */
export function passthroughOnnx(height: number, width: number, names = { input: 'image', output: 'mask' }): Buffer {
  return onnxModel(
    PASSTHROUGH_NAME,
    [onnxNode('ReduceMax', [names.input], [names.output], [intsAttr('axes', [3]), intAttr('keepdims', 0)])],
    valueInfo(names.input, ONNX_DTYPE.uint8, [1, height, width, 3]),
    valueInfo(names.output, ONNX_DTYPE.uint8, [1, height, width]),
  );
}

/** Writes <dir>/passthrough.onnx and its manifest at the given live size; returns the model's name. */
export function writePassthroughModel(dir: string, size: { height: number; width: number }): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${PASSTHROUGH_NAME}.onnx`), passthroughOnnx(size.height, size.width));
  fs.writeFileSync(path.join(dir, `${PASSTHROUGH_NAME}.json`), JSON.stringify({
    name: PASSTHROUGH_NAME, version: '1',
    input: { name: 'image', dtype: 'uint8', layout: 'NHWC', height: size.height, width: size.width },
    output: { name: 'mask', dtype: 'uint8', meaning: 'not a crack model: max(R, G, B), for measuring the pipeline without one', layout: 'NHW' },
    threshold: 0.5, params: 0, gflops: 0, metrics: {}, training: {},
  }, null, 2) + '\n');
  return PASSTHROUGH_NAME;
}
