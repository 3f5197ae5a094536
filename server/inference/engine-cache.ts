// TensorRT engines built ahead of time (`crackscope build-engine`) and the EPContext wrappers that
// load them. Each engine has a key JSON beside it; the service loads a wrapper only when the key
// matches this model's bytes, the live input size, this GPU and this TensorRT version. Anything
// else is refused with a reason a person can act on — never loaded silently.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import type { Config } from '../config/schema.js';
import type { ModelFiles } from './manifest.js';
import { parseEpContextModel } from './epcontext.js';
import { detectPlatform, inspectOrtBinding, type OrtBindingInfo, type PlatformInfo } from './platform.js';

export type Precision = 'fp16' | 'int8';
export const PRECISION_LABEL: Record<Precision, 'TensorRT FP16' | 'TensorRT INT8'> = { fp16: 'TensorRT FP16', int8: 'TensorRT INT8' };

/** What an engine is valid for. Written by build-engine as <base>.json beside <base>.engine. */
export interface EngineKey {
  format: 'crackscope-engine-key/1';
  model: { name: string; version: string; sha256: string; file: string };
  input: { name: string; height: number; width: number; shape: number[]; dtype: string };
  output: { name: string };
  precision: Precision;
  gpu: { name: string; computeCapability: string };
  tensorrt: { version: string };
  engine: { file: string; bytes: number; sha256: string };
  wrapper: { file: string };
  builtAt: string;
  builtWith: string;
  accuracy?: { metric: 'iou'; value: number; threshold: number; images: number; against: 'fp32' };
  /** true when written with --skip-trtexec: the engine file was not built here */
  stub?: boolean;
}

// ---- keys and files -----------------------------------------------------------------------

export function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** File base name for an engine: <model>-<sha12>-<H>x<W>-<precision>. */
export function engineBaseName(modelName: string, modelSha: string, height: number, width: number, precision: Precision) {
  const safe = modelName.replace(/[^\w.-]+/g, '_');
  return `${safe}-${modelSha.slice(0, 12)}-${height}x${width}-${precision}`;
}

export const keyPathFor = (engineDir: string, base: string) => path.join(engineDir, `${base}.json`);

export type EngineCheck = { ok: true; key: EngineKey; wrapperPath: string; enginePath: string } | { ok: false; reason: string; key?: EngineKey };

/**
 * Checks one key file against the model and this machine. `platform` is what this machine has
 * (detectPlatform()); `verifyEngineHash` re-hashes the engine file (on by default: a copied or
 * truncated engine is caught here, not inside TensorRT).
 */
export function checkEngine(
  keyFile: string,
  modelFiles: ModelFiles,
  modelSha: string,
  platform: PlatformInfo,
  opts: { verifyEngineHash?: boolean } = {},
): EngineCheck {
  let key: EngineKey;
  try {
    key = JSON.parse(fs.readFileSync(keyFile, 'utf8'));
  } catch (err) {
    return { ok: false, reason: `engine key ${keyFile} cannot be read (${(err as Error).message})` };
  }
  if (key?.format !== 'crackscope-engine-key/1') return { ok: false, reason: `engine key ${keyFile} is not a crackscope engine key` };
  const m = modelFiles.manifest;
  const dir = path.dirname(keyFile);
  const label = `${PRECISION_LABEL[key.precision] ?? key.precision} engine ${path.basename(key.engine?.file ?? keyFile)}`;
  if (key.model.sha256 !== modelSha) {
    return {
      ok: false,
      key,
      reason: `${label} was built for a different model hash (${key.model.name} ${key.model.version}, sha256 ${key.model.sha256.slice(0, 12)}…; this model is ${m.name} ${m.version}, sha256 ${modelSha.slice(0, 12)}…) — run \`crackscope build-engine\``,
    };
  }
  if (key.input.height !== m.input.height || key.input.width !== m.input.width) {
    return {
      ok: false,
      key,
      reason: `${label} was built for ${key.input.height}x${key.input.width}, the live size is ${m.input.height}x${m.input.width} — run \`crackscope build-engine\``,
    };
  }
  if (key.input.name !== m.input.name || key.output.name !== m.output.name) {
    return { ok: false, key, reason: `${label} has tensors ${key.input.name}→${key.output.name}, the manifest says ${m.input.name}→${m.output.name}` };
  }
  if (key.stub) return { ok: false, key, reason: `${label} is a stub written with --skip-trtexec, not a real TensorRT engine` };
  if (!platform.gpu) return { ok: false, key, reason: `${label} was built for ${key.gpu.name}; no NVIDIA GPU is visible here` };
  if (
    key.gpu.name !== platform.gpu.name ||
    (key.gpu.computeCapability && platform.gpu.computeCapability && key.gpu.computeCapability !== platform.gpu.computeCapability)
  ) {
    return {
      ok: false,
      key,
      reason: `${label} was built on a different GPU (${key.gpu.name}, sm ${key.gpu.computeCapability}; this is ${platform.gpu.name}, sm ${platform.gpu.computeCapability}) — run \`crackscope build-engine\``,
    };
  }
  if (!platform.tensorrtVersion)
    return { ok: false, key, reason: `${label} needs TensorRT ${key.tensorrt.version}; no TensorRT runtime (libnvinfer) found here` };
  if (key.tensorrt.version !== platform.tensorrtVersion) {
    return {
      ok: false,
      key,
      reason: `${label} was built with TensorRT ${key.tensorrt.version}, this system has TensorRT ${platform.tensorrtVersion} (engines do not carry across versions) — run \`crackscope build-engine\``,
    };
  }
  const enginePath = path.join(dir, key.engine.file);
  const wrapperPath = path.join(dir, key.wrapper.file);
  let st: fs.Stats;
  try {
    st = fs.statSync(enginePath);
  } catch {
    return { ok: false, key, reason: `${label}: engine file ${enginePath} is missing — run \`crackscope build-engine\`` };
  }
  if (st.size !== key.engine.bytes || ((opts.verifyEngineHash ?? true) && sha256File(enginePath) !== key.engine.sha256)) {
    return {
      ok: false,
      key,
      reason: `${label}: engine file ${enginePath} does not match its key (size or sha256 differ; replaced or truncated?) — run \`crackscope build-engine\``,
    };
  }
  try {
    const w = parseEpContextModel(fs.readFileSync(wrapperPath));
    if (w.embedMode !== 0 || w.engineFile !== key.engine.file)
      return { ok: false, key, reason: `${label}: wrapper ${wrapperPath} points at ${w.engineFile || '(embedded engine)'}, not ${key.engine.file}` };
    const inNames = w.model.inputs.map((i) => i.name).join(',');
    const outNames = w.model.outputs.map((o) => o.name).join(',');
    if (inNames !== m.input.name || outNames !== m.output.name)
      return {
        ok: false,
        key,
        reason: `${label}: wrapper ${wrapperPath} has inputs [${inNames}] outputs [${outNames}], the manifest says [${m.input.name}] [${m.output.name}]`,
      };
  } catch (err) {
    return { ok: false, key, reason: `${label}: wrapper ${wrapperPath} is unusable (${(err as Error).message}) — run \`crackscope build-engine\`` };
  }
  return { ok: true, key, wrapperPath, enginePath };
}

/** Every engine key in engineDir that names this model (by name or by hash). */
export function findKeys(engineDir: string, modelName: string, modelSha: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(engineDir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names.filter((n) => n.endsWith('.json')).sort()) {
    const p = path.join(engineDir, n);
    try {
      const k = JSON.parse(fs.readFileSync(p, 'utf8')) as EngineKey;
      if (k?.format === 'crackscope-engine-key/1' && (k.model?.name === modelName || k.model?.sha256 === modelSha)) out.push(p);
    } catch {
      /* not a key */
    }
  }
  return out;
}

export type TensorrtResolution = { ok: true; path: string; label: 'TensorRT FP16' | 'TensorRT INT8'; key?: EngineKey } | { ok: false; reason: string };

/**
 * Finds the EPContext wrapper the `tensorrt` provider should load for this model, or says why
 * there is none. The session module tries `tensorrt` with `path` (load it BY PATH: the engine is
 * found relative to the wrapper's directory), then the next provider.
 * An INT8 engine (which exists only when it passed its accuracy gate) is preferred over FP16.
 */
export function resolveTensorrtModel(
  config: Pick<Config, 'engineDir'>,
  modelFiles: ModelFiles,
  opts: { platform?: PlatformInfo; binding?: OrtBindingInfo } = {},
): TensorrtResolution {
  const binding = opts.binding ?? inspectOrtBinding();
  if (!binding.hasTensorrt) return { ok: false, reason: binding.reason ?? 'onnxruntime-node has no tensorrt provider' };
  const m = modelFiles.manifest;
  let modelSha: string;
  try {
    modelSha = sha256File(modelFiles.onnxPath);
  } catch (err) {
    return { ok: false, reason: `cannot read ${modelFiles.onnxPath}: ${(err as Error).message}` };
  }
  const platform = opts.platform ?? detectPlatform();
  if (binding.build?.tensorrtVersion && platform.tensorrtVersion && binding.build.tensorrtVersion !== platform.tensorrtVersion) {
    return {
      ok: false,
      reason: `onnxruntime-node was built against TensorRT ${binding.build.tensorrtVersion}, this system has TensorRT ${platform.tensorrtVersion} — rerun deploy/jetson/build-onnxruntime.sh`,
    };
  }
  const keys = findKeys(config.engineDir, m.name, modelSha);
  if (keys.length === 0) {
    return {
      ok: false,
      reason: `no TensorRT engine for this model at ${m.input.height}x${m.input.width} in ${config.engineDir} — run \`crackscope build-engine\``,
    };
  }
  const checks = keys.map((k) => checkEngine(k, modelFiles, modelSha, platform));
  const good = checks.filter((c): c is Extract<EngineCheck, { ok: true }> => c.ok);
  const pick = good.find((c) => c.key.precision === 'int8') ?? good.find((c) => c.key.precision === 'fp16');
  if (pick) return { ok: true, path: pick.wrapperPath, label: PRECISION_LABEL[pick.key.precision], key: pick.key };
  // the most relevant refusal: one for this exact model first
  const bad = checks as Extract<EngineCheck, { ok: false }>[];
  const best = bad.find((c) => c.key?.model.sha256 === modelSha) ?? bad[0];
  return { ok: false, reason: best.reason };
}
