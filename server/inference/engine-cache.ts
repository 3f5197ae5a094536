// TensorRT engines built ahead of time (`crackscope build-engine`) and the EPContext wrappers that
// load them. Each engine has a key JSON beside it; the service loads a wrapper only when the key
// matches this model's bytes, the live input size, this GPU and this TensorRT version. Anything
// else is refused with a reason a person can act on — never loaded silently.
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import type { Config } from '../config/schema.js';
import type { ModelFiles } from './manifest.js';
import { parseEpContextModel } from './epcontext.js';

const require = createRequire(import.meta.url);

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

export interface GpuInfo {
  /** e.g. "NVIDIA Jetson AGX Orin Developer Kit (tegra234)" or "NVIDIA GeForce RTX 3060" */
  name: string;
  /** major*10+minor as a string, e.g. "87"; '' when unknown */
  computeCapability: string;
}

export interface PlatformInfo {
  gpu?: GpuInfo;
  tensorrtVersion?: string;
  /** how each was found, for messages */
  notes: string[];
}

// ---- platform detection -------------------------------------------------------------------

const TEGRA_SOC: Record<string, { family: string; cc: string }> = {
  tegra234: { family: 'Orin', cc: '87' },
  tegra194: { family: 'Xavier', cc: '72' },
  tegra186: { family: 'TX2', cc: '62' },
  tegra210: { family: 'Nano/TX1', cc: '53' },
};

const readText = (p: string) => {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
};

export function detectGpu(notes: string[] = []): GpuInfo | undefined {
  // Jetson: the device tree names the board and the SoC; CUDA is not needed to read it.
  const compatible = readText('/proc/device-tree/compatible');
  if (compatible) {
    const soc = compatible
      .split('\0')
      .map((s) => s.replace(/^nvidia,/, ''))
      .find((s) => s in TEGRA_SOC);
    if (soc) {
      const model = (readText('/proc/device-tree/model') ?? 'NVIDIA Jetson').replace(/\0/g, '').trim();
      notes.push(`GPU from /proc/device-tree (${soc})`);
      return { name: `${model} (${soc}, ${TEGRA_SOC[soc].family})`, computeCapability: TEGRA_SOC[soc].cc };
    }
  }
  // discrete GPU
  for (const query of ['name,compute_cap', 'name']) {
    try {
      const out = execFileSync('nvidia-smi', [`--query-gpu=${query}`, '--format=csv,noheader', '--id=0'], {
        encoding: 'utf8',
        timeout: 5000,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      if (!out) continue;
      const [name, cc] = out.split(',').map((s) => s.trim());
      notes.push('GPU from nvidia-smi');
      return { name, computeCapability: cc ? cc.replace('.', '') : '' };
    } catch {
      /* no nvidia-smi or too old for compute_cap */
    }
  }
  notes.push('no NVIDIA GPU found (no Jetson device tree, no nvidia-smi)');
  return undefined;
}

const LIB_DIRS = ['/usr/lib/aarch64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/usr/local/lib', '/usr/lib', '/usr/local/tensorrt/lib', '/opt/tensorrt/lib'];
const INCLUDE_DIRS = [
  '/usr/include/aarch64-linux-gnu',
  '/usr/include/x86_64-linux-gnu',
  '/usr/include',
  '/usr/local/tensorrt/include',
  '/opt/tensorrt/include',
];

/** The TensorRT runtime on this machine, from libnvinfer.so.X.Y.Z (or NvInferVersion.h). */
export function detectTensorrtVersion(notes: string[] = []): string | undefined {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LIB_DIRS];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    const versions = names.map((n) => /^libnvinfer\.so\.(\d+\.\d+\.\d+)(?:\.\d+)?$/.exec(n)?.[1]).filter((v): v is string => !!v);
    if (versions.length) {
      versions.sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
      notes.push(`TensorRT ${versions[0]} from ${dir}/libnvinfer.so.${versions[0]}`);
      return versions[0];
    }
  }
  for (const dir of INCLUDE_DIRS) {
    const h = readText(path.join(dir, 'NvInferVersion.h'));
    if (!h) continue;
    const defs = new Map<string, string>();
    for (const m of h.matchAll(/^#define\s+(\w+)\s+(\w+)/gm)) defs.set(m[1], m[2]);
    const val = (k: string): string | undefined => {
      let v = defs.get(k);
      for (let i = 0; i < 4 && v && !/^\d+$/.test(v); i++) v = defs.get(v);
      return v && /^\d+$/.test(v) ? v : undefined;
    };
    const [a, b, c] = ['NV_TENSORRT_MAJOR', 'NV_TENSORRT_MINOR', 'NV_TENSORRT_PATCH'].map(val);
    if (a && b && c) {
      notes.push(`TensorRT ${a}.${b}.${c} from ${dir}/NvInferVersion.h`);
      return `${a}.${b}.${c}`;
    }
  }
  notes.push('no TensorRT runtime found (libnvinfer.so.X.Y.Z)');
  return undefined;
}

export function detectPlatform(): PlatformInfo {
  const notes: string[] = [];
  return { gpu: detectGpu(notes), tensorrtVersion: detectTensorrtVersion(notes), notes };
}

// ---- onnxruntime-node's providers ------------------------------------------------------------

export interface OrtBindingInfo {
  dir?: string;
  version?: string;
  hasTensorrt: boolean;
  hasCuda: boolean;
  /** written by deploy/jetson/build-onnxruntime.sh when it installs its own build */
  build?: { ortVersion?: string; tensorrtVersion?: string; cudaVersion?: string; jetpack?: string };
  reason?: string;
}

export const ORT_BUILD_STAMP = 'crackscope-ort-build.json';

/** Looks at the installed onnxruntime-node binary (without loading it) for the provider libraries. */
export function inspectOrtBinding(): OrtBindingInfo {
  let pkgDir: string;
  let version: string | undefined;
  try {
    // from the package's entry point up to its package.json (older builds export no ./package.json)
    let dir = path.dirname(require.resolve('onnxruntime-node'));
    while (!fs.existsSync(path.join(dir, 'package.json')) && dir !== path.dirname(dir)) dir = path.dirname(dir);
    pkgDir = dir;
    version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  } catch {
    return { hasTensorrt: false, hasCuda: false, reason: 'onnxruntime-node is not installed' };
  }
  const arch = process.arch === 'arm64' ? 'arm64' : process.arch;
  const binRoot = path.join(pkgDir, 'bin');
  let dir: string | undefined;
  try {
    for (const napi of fs
      .readdirSync(binRoot)
      .filter((d) => d.startsWith('napi-v'))
      .sort()
      .reverse()) {
      const d = path.join(binRoot, napi, process.platform, arch);
      if (fs.existsSync(path.join(d, 'onnxruntime_binding.node'))) {
        dir = d;
        break;
      }
    }
  } catch {
    /* no bin */
  }
  let build: OrtBindingInfo['build'];
  try {
    build = JSON.parse(fs.readFileSync(path.join(pkgDir, ORT_BUILD_STAMP), 'utf8'));
  } catch {
    /* the prebuilt package */
  }
  if (!dir) return { version, hasTensorrt: false, hasCuda: false, build, reason: `onnxruntime-node ${version} has no binary for ${process.platform}/${arch}` };
  const has = (lib: string) => fs.existsSync(path.join(dir!, lib));
  const hasTensorrt = has('libonnxruntime_providers_tensorrt.so');
  const hasCuda = has('libonnxruntime_providers_cuda.so');
  let reason: string | undefined;
  if (!hasTensorrt) {
    reason = build
      ? `onnxruntime-node ${version} (own build) has no libonnxruntime_providers_tensorrt.so in ${dir}`
      : process.arch === 'arm64'
        ? `onnxruntime-node ${version} has no tensorrt provider (prebuilt linux/arm64 binary) — build it on the Jetson with deploy/jetson/build-onnxruntime.sh`
        : `onnxruntime-node ${version} has no tensorrt provider library (prebuilt binary; libonnxruntime_providers_tensorrt.so is fetched by its install script, which is skipped here)`;
  }
  return { dir, version, hasTensorrt, hasCuda, build, reason };
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
