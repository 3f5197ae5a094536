// The models beside the live one: `--compare B,C` (each run on every frame) and `--shadow S` (run on
// a sample of frames, at a lower priority). Each is its own onnxruntime session in its own worker
// thread: onnxruntime-node gives no way to share one engine between several contexts, so a GPU
// holds one copy of each model's weights (for crackunet-v1, 3 MB each).
import os from 'node:os';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { ModelError, resolveModel, type ModelFiles } from './manifest.js';
import { tensorrtResolver } from './providers.js';
import type { ProviderName } from '../protocol/wire-format.js';
import { createCrackSession, type CrackSession } from './session.js';
import { thresholdByte } from './agreement.js';

export interface ExtraModel {
  /** index in hello.compare and in the frame messages (compare models only) */
  index: number;
  files: ModelFiles;
  session: CrackSession;
  /** mask value at or above which a pixel is crack (its own manifest's threshold) */
  thresholdByte: number;
}

/** Nice value of the shadow model's threads: the kernel gives the live model the cores first. */
export const SHADOW_NICE = 10;

/**
 * Inference threads per session. With threads = 0 (one per core) and comparison models, the cores
 * are split between the models that run on every frame, since they run at the same time: on two
 * cores, two models with one thread each finish a frame sooner than two with two threads fighting.
 */
export function threadsPerModel(config: Pick<Config, 'threads' | 'compare'>, cores = os.availableParallelism()): number {
  if (config.threads > 0) return config.threads;
  return Math.max(1, Math.floor(cores / (1 + config.compare.length)));
}

/**
 * onnxruntime-node 1.30's WebGPU provider keeps one device context per process: two sessions that
 * run at the same time from two worker threads crash the process (segfault, or "encoded dispatch
 * count exceeds maxNumPendingDispatches"; measured on the lent H200 with one comparison model). So
 * at most one session of a process runs on WebGPU, the first to take it (the live model's).
 */
export function providersBeside(providers: readonly ProviderName[], webgpuTaken: boolean): ProviderName[] {
  if (!webgpuTaken) return [...providers];
  const rest = providers.filter((p) => p !== 'webgpu');
  return rest.length ? rest : ['cpu'];
}

function checkSameInput(live: ModelFiles, other: ModelFiles, role: string) {
  const a = live.manifest.input,
    b = other.manifest.input;
  if (a.height !== b.height || a.width !== b.width) {
    throw new ModelError(
      `model error: ${other.manifestPath}: the ${role} model's input is ${b.height}x${b.width}, the live model's ${a.height}x${a.width}; they must see the same frame`,
    );
  }
}

export async function loadExtraModels(
  config: Config,
  live: ModelFiles,
  log: Logger,
  liveProvider = '',
): Promise<{ compare: ExtraModel[]; shadow?: ExtraModel; release(): Promise<void> }> {
  const loaded: ExtraModel[] = [];
  let webgpuTaken = liveProvider === 'webgpu';
  const providersFor = (name: string, role: string) => {
    const p = providersBeside(config.providers, webgpuTaken);
    if (p.length !== config.providers.length || p.some((x, i) => x !== config.providers[i])) {
      log.warn('compare.provider', { model: name, role, providers: p, reason: 'one WebGPU session per process: another model already runs on WebGPU' });
    }
    return p;
  };
  const took = (session: CrackSession) => {
    if (session.provider === 'webgpu') webgpuTaken = true;
  };
  const release = () => Promise.all(loaded.map((m) => m.session.release().catch(() => undefined))).then(() => undefined);
  try {
    const threads = threadsPerModel(config);
    const compare: ExtraModel[] = [];
    for (const [index, name] of config.compare.entries()) {
      const files = resolveModel(config.modelsDir, name);
      checkSameInput(live, files, 'comparison');
      const session = await createCrackSession({
        model: files,
        providers: providersFor(name, 'compare'),
        threads,
        log: log.child({ model: files.manifest.name, role: 'compare' }),
        resolveTensorrt: tensorrtResolver(config),
      });
      took(session);
      const m = { index, files, session, thresholdByte: thresholdByte(files.manifest.threshold) };
      loaded.push(m);
      compare.push(m);
      log.info('compare.model', { index, model: files.manifest.name, version: files.manifest.version, provider: session.provider, threads });
    }
    let shadow: ExtraModel | undefined;
    if (config.shadow) {
      const files = resolveModel(config.modelsDir, config.shadow);
      checkSameInput(live, files, 'shadow');
      const session = await createCrackSession({
        model: files,
        providers: providersFor(config.shadow, 'shadow'),
        threads: 1,
        nice: SHADOW_NICE,
        log: log.child({ model: files.manifest.name, role: 'shadow' }),
        resolveTensorrt: tensorrtResolver(config),
      });
      took(session);
      shadow = { index: -1, files, session, thresholdByte: thresholdByte(files.manifest.threshold) };
      loaded.push(shadow);
      log.info('shadow.model', {
        model: files.manifest.name,
        version: files.manifest.version,
        provider: session.provider,
        rate: config.shadowRate,
        nice: SHADOW_NICE,
      });
    }
    return { compare, shadow, release };
  } catch (err) {
    await release();
    throw err;
  }
}
