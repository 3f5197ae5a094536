// Every shipped model (models/*.onnx, whatever is there) is one TensorRT's ONNX parser can take:
// the uint8 input's only reader is a Cast, and the uint8 output is Cast(to=uint8) of Clip(Round(x)).
// The first crackunet exports put a Transpose on the uint8 input; trtexec would refuse them
// (onnx-tensorrt: "UINT8 is only supported as network input or output tensor types", Transpose
// takes no uint8), so `crackscope build-engine` failed and TensorRT FP16 never ran.
//
// Also: the check itself catches a Transpose-first graph; build-engine refuses one before running
// trtexec; and scripts/onnx_cast_first.py (the rewrite applied to crackunet-v1/v2) keeps the
// model's output bit-identical, run with onnxruntime on a Transpose-first model and its rewrite.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { modelIo } from '../server/inference/engine-build.js';
import { ModelError, resolveModel } from '../server/inference/manifest.js';
import { ONNX_DTYPE, parseOnnxModel } from '../server/inference/epcontext.js';
import { intAttr, intsAttr, onnxModel, onnxNode as node, tensorrtIoProblems, valueInfo } from '../server/inference/onnx-graph.js';

const MODELS = path.resolve(import.meta.dirname, '..', 'models');
const shipped = fs
  .readdirSync(MODELS)
  .filter((f) => f.endsWith('.onnx'))
  .sort();
const hasOnnxPy = spawnSync('/usr/bin/python3', ['-c', 'import onnx']).status === 0;

/** A U-Net-like head and tail with the old export's order: Transpose on the uint8 input, then Cast. */
function transposeFirst(): Buffer {
  return onnxModel(
    'old-order',
    [
      node('Transpose', ['image'], ['t'], [intsAttr('perm', [0, 3, 1, 2])]),
      node('Cast', ['t'], ['x'], [intAttr('to', ONNX_DTYPE.float32)]),
      node('ReduceMean', ['x'], ['m'], [intsAttr('axes', [1]), intAttr('keepdims', 0)]),
      node('Round', ['m'], ['r']),
      node('Clip', ['r'], ['c']),
      node('Cast', ['c'], ['crack'], [intAttr('to', ONNX_DTYPE.uint8)]),
    ],
    valueInfo('image', ONNX_DTYPE.uint8, [1, 'height', 'width', 3]),
    valueInfo('crack', ONNX_DTYPE.uint8, [1, 'height', 'width']),
  );
}

describe('shipped ONNX models at the TensorRT boundary', () => {
  it('models/ holds models to check', () => {
    expect(shipped.length).toBeGreaterThanOrEqual(2);
  });

  it.each(shipped)('%s: uint8 input read only by a Cast; output = Cast(Clip(Round(x)))', (file) => {
    const info = parseOnnxModel(fs.readFileSync(path.join(MODELS, file)));
    const uint8In = info.inputs.filter((i) => i.elemType === ONNX_DTYPE.uint8);
    const uint8Out = info.outputs.filter((o) => o.elemType === ONNX_DTYPE.uint8);
    expect(uint8In.length, 'a uint8 image input').toBe(1);
    expect(uint8Out.length, 'a uint8 mask output').toBe(1);
    expect(tensorrtIoProblems(info, { output: true })).toEqual([]);
    // spelled out, so a change to the checker cannot quietly weaken this test
    const readers = info.nodes.filter((n) => n.inputs.includes(uint8In[0].name));
    expect(readers.map((n) => n.opType)).toEqual(['Cast']);
    const byOutput = (name: string) => info.nodes.find((n) => n.outputs.includes(name))!;
    const cast = byOutput(uint8Out[0].name);
    expect(cast.opType).toBe('Cast');
    expect(cast.attributes.to).toEqual({ type: 'int', i: ONNX_DTYPE.uint8 });
    const clip = byOutput(cast.inputs[0]);
    expect(clip.opType).toBe('Clip');
    expect(byOutput(clip.inputs[0]).opType).toBe('Round');
  });

  it('the check catches a Transpose on the uint8 input, and build-engine refuses such a model before trtexec', () => {
    const info = parseOnnxModel(transposeFirst());
    expect(tensorrtIoProblems(info)).toEqual([expect.stringMatching(/uint8 input image is read by Transpose/)]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-onnx-'));
    fs.writeFileSync(path.join(dir, 'old.onnx'), transposeFirst());
    fs.writeFileSync(
      path.join(dir, 'old.json'),
      JSON.stringify({
        name: 'old',
        version: '0',
        input: { name: 'image', dtype: 'uint8', layout: 'NHWC', height: 32, width: 32 },
        output: { name: 'crack', dtype: 'uint8', meaning: 'crack probability x 255', layout: 'NHW' },
        threshold: 0.5,
        params: 0,
        gflops: 0,
        metrics: {},
        training: {},
      }),
    );
    const mf = resolveModel(dir, 'old');
    expect(() => modelIo(mf, fs.readFileSync(mf.onnxPath))).toThrow(ModelError);
    expect(() => modelIo(mf, fs.readFileSync(mf.onnxPath))).toThrow(/read by Transpose.*only into a Cast/);
  });

  it.skipIf(!hasOnnxPy)('scripts/onnx_cast_first.py: Cast first, output bit-identical under onnxruntime; --check on models/', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-castfirst-'));
    const before = path.join(dir, 'before.onnx');
    const after = path.join(dir, 'after.onnx');
    fs.writeFileSync(before, transposeFirst());
    const r = spawnSync('/usr/bin/python3', [path.join(MODELS, '..', 'scripts', 'onnx_cast_first.py'), before, after], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(tensorrtIoProblems(parseOnnxModel(fs.readFileSync(after)), { output: true })).toEqual([]);
    const a = await ort.InferenceSession.create(before);
    const b = await ort.InferenceSession.create(after);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 8) & 255;
    for (const [h, w] of [
      [32, 64],
      [96, 128],
    ]) {
      const img = new ort.Tensor('uint8', Uint8Array.from({ length: h * w * 3 }, rnd), [1, h, w, 3]);
      const ya = (await a.run({ image: img })).crack.data as Uint8Array;
      const yb = (await b.run({ image: img })).crack.data as Uint8Array;
      expect(ya.length).toBe(h * w);
      expect(Buffer.from(yb).equals(Buffer.from(ya))).toBe(true);
    }
    const check = spawnSync(
      '/usr/bin/python3',
      [path.join(MODELS, '..', 'scripts', 'onnx_cast_first.py'), '--check', ...shipped.map((f) => path.join(MODELS, f)), before],
      { encoding: 'utf8' },
    );
    expect(check.status).toBe(1); // before.onnx needs the rewrite
    expect(check.stdout).toMatch(/before\.onnx: NEEDS REWRITE/);
    for (const f of shipped) expect(check.stdout).toContain(`${f}: ok`);
  });
});
