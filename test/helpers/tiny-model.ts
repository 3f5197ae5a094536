// A tiny real ONNX model with the product's I/O contract (uint8 NHWC image in, uint8 NHW mask
// out), written with the same minimal protobuf writer as the EPContext wrapper. For tests that
// need a model before models/ ships one. mode 'mean': mask = mean(R,G,B); 'max': max(R,G,B).
import fs from 'node:fs';
import path from 'node:path';
import { ONNX_DTYPE } from '../../server/inference/epcontext.js';
import { intAttr, intsAttr, onnxModel, onnxNode as node, valueInfo } from '../../server/inference/onnx-graph.js';

export function tinyOnnx(
  opts: { inputName?: string; outputName?: string; dynamic?: boolean; height?: number; width?: number; mode?: 'mean' | 'max' } = {},
): Buffer {
  const inName = opts.inputName ?? 'image';
  const outName = opts.outputName ?? 'mask';
  const h = opts.dynamic ? 'height' : (opts.height ?? 64);
  const w = opts.dynamic ? 'width' : (opts.width ?? 96);
  const reduce = opts.mode === 'max' ? 'ReduceMax' : 'ReduceMean';
  return onnxModel(
    'tiny',
    [
      node('Cast', [inName], ['xf'], [intAttr('to', ONNX_DTYPE.float32)]),
      node(reduce, ['xf'], ['m'], [intsAttr('axes', [3]), intAttr('keepdims', 0)]),
      node('Cast', ['m'], [outName], [intAttr('to', ONNX_DTYPE.uint8)]),
    ],
    valueInfo(inName, ONNX_DTYPE.uint8, [1, h, w, 3]),
    valueInfo(outName, ONNX_DTYPE.uint8, [1, h, w]),
  );
}

/** Writes <dir>/<name>.onnx and its manifest; returns the .onnx path. */
export function writeTinyModel(dir: string, name = 'tiny', opts: Parameters<typeof tinyOnnx>[0] & { height?: number; width?: number } = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const height = opts.height ?? 64,
    width = opts.width ?? 96;
  const onnx = path.join(dir, `${name}.onnx`);
  fs.writeFileSync(onnx, tinyOnnx({ ...opts, height, width }));
  fs.writeFileSync(
    path.join(dir, `${name}.json`),
    JSON.stringify(
      {
        name,
        version: '0.0.1-test',
        input: { name: opts.inputName ?? 'image', dtype: 'uint8', layout: 'NHWC', height, width },
        output: { name: opts.outputName ?? 'mask', dtype: 'uint8', meaning: 'crack probability x 255', layout: 'NHW' },
        threshold: 0.5,
        params: 0,
        gflops: 0,
        metrics: {},
        training: {},
      },
      null,
      2,
    ),
  );
  fs.writeFileSync(path.join(dir, 'default.json'), JSON.stringify({ model: name }));
  return onnx;
}
