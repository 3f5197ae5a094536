// A tiny real ONNX model with the product's I/O contract (uint8 NHWC image in, uint8 NHW mask
// out), written with the same minimal protobuf writer as the EPContext wrapper. For tests that
// need a model before models/ ships one. mode 'mean': mask = mean(R,G,B); 'max': max(R,G,B).
import fs from 'node:fs';
import path from 'node:path';
import { Writer, ONNX_DTYPE } from '../../server/inference/epcontext.js';

function valueInfo(name: string, elemType: number, shape: (number | string)[]) {
  const sh = new Writer();
  for (const d of shape) sh.msg(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().bytes(2, d));
  return new Writer().bytes(1, name).msg(2, new Writer().msg(1, new Writer().int(1, elemType).msg(2, sh)));
}

function node(op: string, inputs: string[], outputs: string[], attrs: Writer[]) {
  const n = new Writer();
  for (const i of inputs) n.bytes(1, i);
  for (const o of outputs) n.bytes(2, o);
  n.bytes(3, `${op}_${outputs[0]}`).bytes(4, op);
  for (const a of attrs) n.msg(5, a);
  return n;
}
const intAttr = (name: string, v: number) => new Writer().bytes(1, name).int(3, v).int(20, 2);
const intsAttr = (name: string, v: number[]) => {
  const w = new Writer().bytes(1, name);
  for (const x of v) w.int(8, x);
  return w.int(20, 7);
};

export function tinyOnnx(opts: { inputName?: string; outputName?: string; dynamic?: boolean; height?: number; width?: number; mode?: 'mean' | 'max' } = {}): Buffer {
  const inName = opts.inputName ?? 'image';
  const outName = opts.outputName ?? 'mask';
  const h = opts.dynamic ? 'height' : opts.height ?? 64;
  const w = opts.dynamic ? 'width' : opts.width ?? 96;
  const reduce = opts.mode === 'max' ? 'ReduceMax' : 'ReduceMean';
  const graph = new Writer()
    .msg(1, node('Cast', [inName], ['xf'], [intAttr('to', ONNX_DTYPE.float32)]))
    .msg(1, node(reduce, ['xf'], ['m'], [intsAttr('axes', [3]), intAttr('keepdims', 0)]))
    .msg(1, node('Cast', ['m'], [outName], [intAttr('to', ONNX_DTYPE.uint8)]))
    .bytes(2, 'tiny')
    .msg(11, valueInfo(inName, ONNX_DTYPE.uint8, [1, h, w, 3]))
    .msg(12, valueInfo(outName, ONNX_DTYPE.uint8, [1, h, w]));
  return new Writer().int(1, 8).bytes(2, 'crackscope-test').msg(7, graph).msg(8, new Writer().bytes(1, '').int(2, 13)).finish();
}

/** Writes <dir>/<name>.onnx and its manifest; returns the .onnx path. */
export function writeTinyModel(dir: string, name = 'tiny', opts: Parameters<typeof tinyOnnx>[0] & { height?: number; width?: number } = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const height = opts.height ?? 64, width = opts.width ?? 96;
  const onnx = path.join(dir, `${name}.onnx`);
  fs.writeFileSync(onnx, tinyOnnx({ ...opts, height, width }));
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({
    name, version: '0.0.1-test',
    input: { name: opts.inputName ?? 'image', dtype: 'uint8', layout: 'NHWC', height, width },
    output: { name: opts.outputName ?? 'mask', dtype: 'uint8', meaning: 'crack probability x 255', layout: 'NHW' },
    threshold: 0.5, params: 0, gflops: 0, metrics: {}, training: {},
  }, null, 2));
  fs.writeFileSync(path.join(dir, 'default.json'), JSON.stringify({ model: name }));
  return onnx;
}
