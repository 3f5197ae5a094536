// The model manifest checks (server/inference/manifest.ts), in-process: what the person starting the
// service reads when a model cannot be used (one line, exit 78), and which files a model name picks.
// Daemon-level suites (faults-model, config-exit) hold the same through dist/; these let the
// mutation run (npm run test:mutation) see them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelError, resolveModel, validateManifest } from '../server/inference/manifest.js';

const good = () => ({
  name: 'crackunet-test',
  version: '1.0',
  input: { name: 'image', dtype: 'uint8', layout: 'NHWC', height: 384, width: 640 },
  output: { name: 'mask', dtype: 'uint8', layout: 'NHW' },
  threshold: 0.6,
  params: 1000,
  gflops: 6.6,
});

/** the one line the service prints for this manifest */
function problem(value: unknown): string {
  try {
    validateManifest(value, 'm.json');
  } catch (err) {
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).exitCode).toBe(78);
    return (err as Error).message;
  }
  throw new Error('the manifest was accepted');
}

function set(path_: string, v: unknown): Record<string, any> {
  const m: Record<string, any> = good();
  const keys = path_.split('.');
  let o = m;
  for (const k of keys.slice(0, -1)) o = o[k];
  if (v === undefined) delete o[keys.at(-1)!];
  else o[keys.at(-1)!] = v;
  return m;
}

describe('validateManifest', () => {
  it('accepts a good manifest, fills the documented defaults and keeps extra fields', () => {
    const m = validateManifest({ ...good(), exported_by: 'train.py', input: { ...good().input, mean: [0, 0, 0] } }, 'm.json');
    expect(m.output.meaning).toBe('crack probability x 255');
    expect(m.metrics).toEqual({});
    expect(m.training).toEqual({});
    expect(m.threshold).toBe(0.6);
    expect(m.input).toMatchObject({ height: 384, width: 640, name: 'image' });
    expect((m as any).exported_by).toBe('train.py');
    expect((m.input as any).mean).toEqual([0, 0, 0]);
    const kept = validateManifest({ ...good(), output: { ...good().output, meaning: 'p' }, metrics: { f1: 0.8 }, training: { epochs: 3 } }, 'm.json');
    expect(kept.output.meaning).toBe('p');
    expect(kept.metrics).toEqual({ f1: 0.8 });
    expect(kept.training).toEqual({ epochs: 3 });
  });

  it('names the file, the field, the rule and the value it got, in one line', () => {
    expect(problem(set('input.dtype', 'float32'))).toBe('model error: m.json: input.dtype must be "uint8", got "float32"');
    expect(problem(set('output.dtype', 'float32'))).toBe('model error: m.json: output.dtype must be "uint8", got "float32"');
    expect(problem(set('input.layout', 'NCHW'))).toBe('model error: m.json: input.layout must be "NHWC", got "NCHW"');
    expect(problem(set('output.layout', 'NCHW'))).toBe('model error: m.json: output.layout must be "NHW", got "NCHW"');
    expect(problem(set('output.name', ''))).toBe('model error: m.json: output.name must be a non-empty string, got ""');
    expect(problem(set('output.name', 7))).toBe('model error: m.json: output.name must be a non-empty string, got 7');
    expect(problem(set('input.name', undefined))).toBe('model error: m.json: input.name must be a non-empty string, got nothing');
    expect(problem(set('name', ''))).toBe('model error: m.json: name must be a non-empty string, got ""');
    expect(problem(set('version', undefined))).toBe('model error: m.json: version must be a string, got nothing');
    expect(problem(set('version', 2))).toBe('model error: m.json: version must be a string, got 2');
    expect(problem(set('output.meaning', 1))).toBe('model error: m.json: output.meaning must be a string, got 1');
    expect(problem(set('params', '1'))).toBe('model error: m.json: params must be a number, got "1"');
    expect(problem(set('gflops', null))).toBe('model error: m.json: gflops must be a number, got null');
    expect(problem(set('metrics', 'x'))).toBe('model error: m.json: metrics must be an object, got "x"');
    expect(problem(set('training', [1]))).toBe('model error: m.json: training must be an object, got [1]');
    expect(problem(set('input', 'x'))).toBe('model error: m.json: input must be an object, got "x"');
    expect(problem(set('output', null))).toBe('model error: m.json: output must be an object, got null');
    expect(problem([1])).toBe('model error: m.json: manifest must be a JSON object, got [1]');
    expect(problem(null)).toBe('model error: m.json: manifest must be a JSON object, got null');
  });

  it('input sides: whole multiples of 32 from 32 to 4096', () => {
    for (const ok of [32, 64, 4096]) expect(validateManifest(set('input.height', ok), 'm.json').input.height).toBe(ok);
    const rule = 'must be a multiple of 32 in 32..4096';
    for (const bad of [0, 16, 48, 4128, 32.5, '64']) {
      expect(problem(set('input.width', bad))).toBe(`model error: m.json: input.width ${rule}, got ${JSON.stringify(bad)}`);
      expect(problem(set('input.height', bad))).toBe(`model error: m.json: input.height ${rule}, got ${JSON.stringify(bad)}`);
    }
  });

  it('threshold: strictly between 0 and 1', () => {
    for (const ok of [0.001, 0.5, 0.6, 0.999]) expect(validateManifest(set('threshold', ok), 'm.json').threshold).toBe(ok);
    for (const bad of [0, 1, -0.1, 1.5, '0.5']) {
      expect(problem(set('threshold', bad))).toBe(`model error: m.json: threshold must be a number in (0, 1), got ${JSON.stringify(bad)}`);
    }
  });
});

describe('resolveModel', () => {
  /** a models folder with model `m` (an .onnx placeholder and a good manifest) */
  function modelsDir(tag = 'models'): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cs-${tag}-`));
    fs.writeFileSync(path.join(dir, 'm.onnx'), 'onnx');
    fs.writeFileSync(path.join(dir, 'm.json'), JSON.stringify({ ...good(), name: 'm' }));
    return dir;
  }
  function refusal(dir: string, model: string): string {
    try {
      resolveModel(dir, model);
    } catch (err) {
      expect(err).toBeInstanceOf(ModelError);
      expect((err as ModelError).exitCode).toBe(78);
      return (err as Error).message;
    }
    throw new Error(`model ${JSON.stringify(model)} was accepted`);
  }

  it("'' loads the model named in models/default.json", () => {
    const dir = modelsDir();
    fs.writeFileSync(path.join(dir, 'default.json'), JSON.stringify({ model: 'm' }));
    const r = resolveModel(dir, '');
    expect(r.onnxPath).toBe(path.join(dir, 'm.onnx'));
    expect(r.manifestPath).toBe(path.join(dir, 'm.json'));
    expect(r.manifest.name).toBe('m');
    expect(r.manifest.output.meaning).toBe('crack probability x 255');
  });

  it('default.json that is missing, not JSON, or names no plain model is refused with its path', () => {
    const dir = modelsDir();
    const file = path.join(dir, 'default.json');
    expect(refusal(dir, '')).toMatch(new RegExp(`^model error: ${file}: cannot read the default model name \\(ENOENT`));
    fs.writeFileSync(file, '{model: m}');
    expect(refusal(dir, '')).toMatch(new RegExp(`^model error: ${file}: cannot read the default model name \\(.*JSON`));
    // a path, a space, an empty name or no name: never a file outside models/
    for (const bad of ['../m', 'a/m', 'm/a', 'a m', '', '/m']) {
      fs.writeFileSync(file, JSON.stringify({ model: bad }));
      expect(refusal(dir, '')).toBe(`model error: ${file}: must hold {"model": "<name>"}`);
    }
    fs.writeFileSync(file, JSON.stringify({ name: 'm' }));
    expect(refusal(dir, '')).toBe(`model error: ${file}: must hold {"model": "<name>"}`);
    fs.writeFileSync(file, JSON.stringify({ model: 'crack_unet-v2.1' }));
    expect(refusal(dir, '')).toBe(`model error: ${path.join(dir, 'crack_unet-v2.1.onnx')}: file not found`);
  });

  it('a bare name is models/<name>.onnx with its manifest beside it', () => {
    const dir = modelsDir();
    const r = resolveModel(dir, 'm');
    expect(r).toMatchObject({ onnxPath: path.join(dir, 'm.onnx'), manifestPath: path.join(dir, 'm.json') });
    expect(refusal(dir, 'other')).toBe(`model error: ${path.join(dir, 'other.onnx')}: file not found`);
  });

  it('a path to an .onnx file is used as given (relative to the working directory), its .json beside it', () => {
    // the folder's name holds ".onnx" too: only the file's extension is swapped for .json
    const dir = modelsDir('x.onnx-dir');
    const elsewhere = modelsDir();
    const rel = path.relative(process.cwd(), path.join(dir, 'm.onnx'));
    const r = resolveModel(elsewhere, rel);
    expect(r.onnxPath).toBe(path.join(dir, 'm.onnx'));
    expect(r.manifestPath).toBe(path.join(dir, 'm.json'));
  });

  it('a missing manifest or one that is not JSON is refused with what to do', () => {
    const dir = modelsDir();
    fs.rmSync(path.join(dir, 'm.json'));
    expect(refusal(dir, 'm')).toBe(`model error: ${path.join(dir, 'm.json')}: manifest not found (a model needs its .json beside the .onnx)`);
    fs.writeFileSync(path.join(dir, 'm.json'), '{"name": ');
    expect(refusal(dir, 'm')).toMatch(new RegExp(`^model error: ${path.join(dir, 'm.json')}: not valid JSON \\(.+\\)$`));
    fs.writeFileSync(path.join(dir, 'm.json'), JSON.stringify(set('output.layout', 'NCHW')));
    expect(refusal(dir, 'm')).toBe(`model error: ${path.join(dir, 'm.json')}: output.layout must be "NHW", got "NCHW"`);
  });
});
