// A model-free stand-in with the product's I/O contract (uint8 NHWC image in, uint8 NHW mask out):
// one ReduceMax over the colour channels, run by onnxruntime like any model. `crackscope bench
// --passthrough` runs the whole service path with it, so what is left of the frame time is the
// cost of everything but the model (capture, worker hop, ORT call, JPEG, mask, WebSocket): the
// pipeline's non-model ceiling in fps. Written with onnx-graph.ts.
import fs from 'node:fs';
import path from 'node:path';
import { ONNX_DTYPE } from './epcontext.js';
import { intAttr, intsAttr, onnxModel, onnxNode, valueInfo } from './onnx-graph.js';

export const PASSTHROUGH_NAME = 'passthrough';

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
  fs.writeFileSync(
    path.join(dir, `${PASSTHROUGH_NAME}.json`),
    JSON.stringify(
      {
        name: PASSTHROUGH_NAME,
        version: '1',
        input: { name: 'image', dtype: 'uint8', layout: 'NHWC', height: size.height, width: size.width },
        output: { name: 'mask', dtype: 'uint8', meaning: 'not a crack model: max(R, G, B), for measuring the pipeline without one', layout: 'NHW' },
        threshold: 0.5,
        params: 0,
        gflops: 0,
        metrics: {},
        training: {},
      },
      null,
      2,
    ) + '\n',
  );
  return PASSTHROUGH_NAME;
}
