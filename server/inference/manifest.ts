// The model manifest (DESIGN.md ★ "Model files"): models/<name>.json beside models/<name>.onnx.
// The only place that knows its shape; the training export writes the same fields.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const must = (what: string) => ({ error: `must be ${what}` });
const side = (what: string) => z.int(must(what)).min(32, must(what)).max(4096, must(what)).multipleOf(32, must(what));
const name = z.string(must('a non-empty string')).min(1, must('a non-empty string'));

/** The manifest's shape: extra fields are kept (the training export may add some). */
export const ManifestSchema = z.looseObject(
  {
    name,
    version: z.string(must('a string')),
    input: z.looseObject(
      {
        name,
        dtype: z.literal('uint8', must('"uint8"')),
        layout: z.literal('NHWC', must('"NHWC"')),
        height: side('a multiple of 32 in 32..4096'),
        width: side('a multiple of 32 in 32..4096'),
      },
      must('an object'),
    ),
    output: z.looseObject(
      {
        name,
        dtype: z.literal('uint8', must('"uint8"')),
        meaning: z.string(must('a string')).default('crack probability x 255'),
        layout: z.literal('NHW', must('"NHW"')),
      },
      must('an object'),
    ),
    threshold: z.number(must('a number in (0, 1)')).gt(0, must('a number in (0, 1)')).lt(1, must('a number in (0, 1)')),
    params: z.number(must('a number')),
    gflops: z.number(must('a number')),
    metrics: z.record(z.string(), z.unknown(), must('an object')).default({}),
    training: z.record(z.string(), z.unknown(), must('an object')).default({}),
  },
  must('a JSON object'),
);

export type ModelManifest = z.output<typeof ManifestSchema>;

/** models/default.json: the model the service loads unless the config names another. */
const DefaultModelSchema = z.object({ model: z.string().regex(/^[\w.-]+$/) });

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

/** The first thing wrong with a manifest, in one line: `input.dtype must be "uint8", got "float32"`. */
function firstProblem(error: z.ZodError, value: unknown): string {
  const issue = error.issues[0];
  const at = issue.path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), value);
  const where = issue.path.length ? issue.path.join('.') : 'manifest';
  return `${where} ${issue.message}, got ${at === undefined ? 'nothing' : JSON.stringify(at)}`;
}

export function validateManifest(value: unknown, file: string): ModelManifest {
  const parsed = ManifestSchema.safeParse(value);
  if (!parsed.success) throw new ModelError(`model error: ${file}: ${firstProblem(parsed.error, value)}`);
  return parsed.data;
}

/**
 * Finds the model the config names: '' = the one in models/default.json, a bare name = models/<name>,
 * or a path to a .onnx file (its manifest is the .json beside it).
 */
export function resolveModel(modelsDir: string, model: string): ModelFiles {
  let onnxPath: string;
  if (model === '') {
    const defaultFile = path.join(modelsDir, 'default.json');
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(defaultFile, 'utf8'));
    } catch (err) {
      throw new ModelError(`model error: ${defaultFile}: cannot read the default model name (${(err as Error).message})`);
    }
    const parsed = DefaultModelSchema.safeParse(raw);
    check(parsed.success, defaultFile, 'must hold {"model": "<name>"}');
    const name = parsed.data.model;
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
