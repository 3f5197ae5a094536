// The crack model as an onnxruntime-node session on the calling thread. Execution providers are
// tried in the configured order; the first that loads runs, and the reason each earlier one did not
// is kept for the log, /healthz, the hello message and the kiosk. The daemon runs this inside a
// worker thread (session.ts), since onnxruntime-node's run() blocks the thread it is called on.
import fs from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import type { Logger } from '../log/logger.js';
import { oneLine } from '../log/one-line.js';
import type { ProviderFallback, ProviderName } from '../protocol/wire-format.js';
import type { ModelFiles, ModelManifest } from './manifest.js';
import { ModelError } from './manifest.js';
import { inspectOrtBinding } from './platform.js';

export type TensorrtResolution = { ok: true; path: string; label: string } | { ok: false; reason: string };

export interface CrackSessionOptions {
  model: ModelFiles;
  providers: ProviderName[];
  /** 0 = one per core */
  threads: number;
  log: Logger;
  /** Finds the TensorRT EPContext wrapper for this model (see engine-cache.ts); absent = no engine. */
  resolveTensorrt?: (model: ModelFiles) => TensorrtResolution;
}

export interface CrackSession {
  provider: ProviderName;
  providerLabel: string;
  fallbacks: ProviderFallback[];
  manifest: ModelManifest;
  /** uint8 RGB NHWC (height×width×3) in, uint8 crack probability ×255 (height×width) out. */
  run(rgb: Uint8Array, height: number, width: number): Promise<Uint8Array>;
  release(): Promise<void>;
}

// Failed provider probes are reported through the fallback list; keep onnxruntime's own log quiet.
ort.env.logLevel = 'fatal';

const LABELS: Record<ProviderName, string> = { tensorrt: 'TensorRT', cuda: 'CUDA', webgpu: 'WebGPU', cpu: 'CPU' };

function sessionOptions(provider: ProviderName, threads: number): ort.InferenceSession.SessionOptions {
  const cores = os.availableParallelism();
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads || cores,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // The arena stays (no page faults per run), but without ORT's memory pattern, which reserves a
    // second, whole-graph-sized block beside the arena: measured on crackunet-v1 at 384×640 it
    // keeps ~57 MB less resident (148 vs 205 MB after 15 runs) and runs no slower.
    enableMemPattern: false,
    logSeverityLevel: 3,
    // Spinning worker threads would hold both cores of a small device between runs and starve the
    // JPEG encoder and the capture process that run beside the model.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/** What the installed onnxruntime-node binary says about a provider before we try it. */
function backendAbsentReason(provider: ProviderName): string | undefined {
  // onnxruntime-node builds before 1.20 (e.g. one built on an older JetPack) lack this listing: let the session try
  if (typeof ort.listSupportedBackends === 'function') {
    const listed = ort.listSupportedBackends().find((b) => b.name === provider);
    if (!listed) return `this onnxruntime-node build has no ${provider} provider (${process.arch})`;
  }
  return platformAbsentReason(provider);
}

/**
 * Providers the binary lists but this machine cannot have. A failed probe is not free: the WebGPU
 * probe starts Dawn over Vulkan, which loads every Vulkan driver on the system (Mesa's lavapipe
 * brings LLVM) and keeps ~60 MB resident even after it finds no adapter; the CUDA probe needs the
 * provider library that the prebuilt x64 package fetches at install time. So skip them, with the
 * reason, where the hardware or the library is plainly absent. CRACKSCOPE_PROBE_ALL_PROVIDERS=1
 * tries them anyway.
 */
function platformAbsentReason(provider: ProviderName): string | undefined {
  if (process.platform !== 'linux' || process.env.CRACKSCOPE_PROBE_ALL_PROVIDERS === '1') return undefined;
  if (provider === 'cuda') {
    const binding = inspectOrtBinding();
    if (binding.dir && !binding.hasCuda) {
      return `onnxruntime-node ${binding.version ?? ''} has no cuda provider library (libonnxruntime_providers_cuda.so not in ${binding.dir})`.replace(
        '  ',
        ' ',
      );
    }
  }
  if (provider === 'webgpu' && gpuDeviceNodes().length === 0) {
    return 'no GPU device for WebGPU (no /dev/nvidia*, /dev/dri/renderD*); a software Vulkan driver is not used';
  }
  return undefined;
}

function gpuDeviceNodes(): string[] {
  const list = (dir: string, re: RegExp) => {
    try {
      return fs.readdirSync(dir).filter((n) => re.test(n));
    } catch {
      return [];
    }
  };
  return [...list('/dev', /^nvidia\d+$/), ...list('/dev/dri', /^renderD\d+$/)];
}

export async function createOrtSession(opts: CrackSessionOptions): Promise<CrackSession> {
  const { model, log } = opts;
  const { manifest } = model;
  const fallbacks: ProviderFallback[] = [];
  for (const provider of opts.providers) {
    const absent = backendAbsentReason(provider);
    if (absent) {
      fallbacks.push({ provider, reason: absent });
      continue;
    }
    let modelPath = model.onnxPath;
    let label = LABELS[provider];
    if (provider === 'tensorrt') {
      const trt = opts.resolveTensorrt?.(model) ?? { ok: false as const, reason: 'no TensorRT engine resolver configured' };
      if (!trt.ok) {
        fallbacks.push({ provider, reason: trt.reason });
        continue;
      }
      modelPath = trt.path;
      label = trt.label;
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(modelPath, sessionOptions(provider, opts.threads));
    } catch (err) {
      if (provider === 'cpu') throw new ModelError(`model error: ${modelPath}: onnxruntime cannot load it: ${oneLine(err).slice(0, 300)}`);
      fallbacks.push({ provider, reason: oneLine(err).slice(0, 300) });
      continue;
    }
    checkContract(session, model);
    for (const f of fallbacks) log.warn('inference.fallback', f);
    log.info('inference.provider', { provider, label, model: manifest.name, version: manifest.version, path: modelPath });
    return wrap(session, provider, label, fallbacks, manifest);
  }
  throw new ModelError(`model error: no execution provider could load ${model.onnxPath}: ${fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ')}`);
}

function checkContract(session: ort.InferenceSession, model: ModelFiles) {
  const { input, output } = model.manifest;
  if (!session.inputNames.includes(input.name)) {
    throw new ModelError(
      `model error: ${model.onnxPath}: has no input named ${JSON.stringify(input.name)} (its inputs: ${session.inputNames.join(', ')}) — ${model.manifestPath} disagrees`,
    );
  }
  if (!session.outputNames.includes(output.name)) {
    throw new ModelError(`model error: ${model.onnxPath}: has no output named ${JSON.stringify(output.name)} (its outputs: ${session.outputNames.join(', ')})`);
  }
}

function wrap(
  session: ort.InferenceSession,
  provider: ProviderName,
  providerLabel: string,
  fallbacks: CrackSession['fallbacks'],
  manifest: ModelManifest,
): CrackSession {
  const inName = manifest.input.name;
  const outName = manifest.output.name;
  return {
    provider,
    providerLabel,
    fallbacks,
    manifest,
    async run(rgb, height, width) {
      // The tensor wraps the frame's bytes; onnxruntime-node does not copy them on the way in.
      const feeds = { [inName]: new ort.Tensor('uint8', rgb, [1, height, width, 3]) };
      const out = await session.run(feeds, [outName]);
      const t = out[outName];
      if (t.type !== 'uint8' || t.data.length !== height * width) {
        throw new Error(`model output ${outName} is ${t.type}[${t.dims.join('x')}], expected uint8[1x${height}x${width}]`);
      }
      return t.data as Uint8Array;
    },
    release: () => session.release(),
  };
}
