// The model manifest (DESIGN.md ★ "Model files"): models/<name>.json beside models/<name>.onnx.
// The only place that knows its shape; the training export writes the same fields.
import fs from 'node:fs';
import path from 'node:path';

export interface ModelManifest {
  name: string;
  version: string;
  input: { name: string; dtype: 'uint8'; layout: 'NHWC'; height: number; width: number };
  output: { name: string; dtype: 'uint8'; meaning: string; layout: 'NHW' };
  threshold: number;
  params: number;
  gflops: number;
  metrics: Record<string, unknown>;
  training: Record<string, unknown>;
}

export interface ModelFiles {
  manifest: ModelManifest;
  onnxPath: string;
  manifestPath: string;
}

/** A model that cannot be used: the service prints the message as one line and exits 78. */
export class ModelError extends Error {
  readonly exitCode = 78;
}

function check(cond: boolean, file: string, what: string): asserts cond {
  if (!cond) throw new ModelError(`model error: ${file}: ${what}`);
}

export function validateManifest(value: unknown, file: string): ModelManifest {
  check(typeof value === 'object' && value !== null && !Array.isArray(value), file, 'manifest must be a JSON object');
  const m = value as Record<string, any>;
  check(typeof m.name === 'string' && m.name.length > 0, file, 'name must be a non-empty string');
  check(typeof m.version === 'string', file, 'version must be a string');
  const i = m.input, o = m.output;
  check(typeof i === 'object' && i !== null, file, 'input must be an object');
  check(typeof i.name === 'string' && i.name.length > 0, file, 'input.name must be a string');
  check(i.dtype === 'uint8', file, `input.dtype must be "uint8", got ${JSON.stringify(i.dtype)}`);
  check(i.layout === 'NHWC', file, `input.layout must be "NHWC", got ${JSON.stringify(i.layout)}`);
  for (const k of ['height', 'width'] as const) {
    check(Number.isInteger(i[k]) && i[k] >= 32 && i[k] <= 4096 && i[k] % 32 === 0, file, `input.${k} must be a multiple of 32 in 32..4096, got ${JSON.stringify(i[k])}`);
  }
  check(typeof o === 'object' && o !== null, file, 'output must be an object');
  check(typeof o.name === 'string' && o.name.length > 0, file, 'output.name must be a string');
  check(o.dtype === 'uint8', file, `output.dtype must be "uint8", got ${JSON.stringify(o.dtype)}`);
  check(o.layout === 'NHW', file, `output.layout must be "NHW", got ${JSON.stringify(o.layout)}`);
  check(typeof m.threshold === 'number' && m.threshold > 0 && m.threshold < 1, file, 'threshold must be a number in (0, 1)');
  check(typeof m.params === 'number' && typeof m.gflops === 'number', file, 'params and gflops must be numbers');
  return { metrics: {}, training: {}, ...m } as ModelManifest;
}

/**
 * Finds the model the config names: '' = the one in models/default.json, a bare name = models/<name>,
 * or a path to a .onnx file (its manifest is the .json beside it).
 */
export function resolveModel(modelsDir: string, model: string): ModelFiles {
  let onnxPath: string;
  if (model === '') {
    const defaultFile = path.join(modelsDir, 'default.json');
    let name: unknown;
    try {
      name = JSON.parse(fs.readFileSync(defaultFile, 'utf8')).model;
    } catch (err) {
      throw new ModelError(`model error: ${defaultFile}: cannot read the default model name (${(err as Error).message})`);
    }
    check(typeof name === 'string' && /^[\w.-]+$/.test(name), defaultFile, 'must hold {"model": "<name>"}');
    onnxPath = path.join(modelsDir, `${name}.onnx`);
  } else if (model.endsWith('.onnx')) {
    onnxPath = path.resolve(model);
  } else {
    onnxPath = path.join(modelsDir, `${model}.onnx`);
  }
  const manifestPath = onnxPath.replace(/\.onnx$/, '.json');
  check(fs.existsSync(onnxPath), onnxPath, 'file not found');
  check(fs.existsSync(manifestPath), manifestPath, 'manifest not found (a model needs its .json beside the .onnx)');
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    throw new ModelError(`model error: ${manifestPath}: not valid JSON (${(err as Error).message})`);
  }
  return { manifest: validateManifest(raw, manifestPath), onnxPath, manifestPath };
}
