// The models beside the live one: `--compare B,C` (each run on every frame) and `--shadow S` (run on
// a sample of frames, at a lower priority). Each is its own onnxruntime session in its own worker
// thread: onnxruntime-node gives no way to share one engine between several contexts, so a GPU
// holds one copy of each model's weights (for crackunet-v1, 3 MB each).
import os from 'node:os';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { ModelError, resolveModel, type ModelFiles } from './manifest.js';
import { tensorrtResolver } from './providers.js';
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

function checkSameInput(live: ModelFiles, other: ModelFiles, role: string) {
  const a = live.manifest.input, b = other.manifest.input;
  if (a.height !== b.height || a.width !== b.width) {
    throw new ModelError(`model error: ${other.manifestPath}: the ${role} model's input is ${b.height}x${b.width}, the live model's ${a.height}x${a.width}; they must see the same frame`);
  }
}

export async function loadExtraModels(config: Config, live: ModelFiles, log: Logger): Promise<{ compare: ExtraModel[]; shadow?: ExtraModel; release(): Promise<void> }> {
  const loaded: ExtraModel[] = [];
  const release = () => Promise.all(loaded.map((m) => m.session.release().catch(() => undefined))).then(() => undefined);
  try {
    const threads = threadsPerModel(config);
    const compare: ExtraModel[] = [];
    for (const [index, name] of config.compare.entries()) {
      const files = resolveModel(config.modelsDir, name);
      checkSameInput(live, files, 'comparison');
      const session = await createCrackSession({ model: files, providers: config.providers, threads, log: log.child({ model: files.manifest.name, role: 'compare' }), resolveTensorrt: tensorrtResolver(config) });
      const m = { index, files, session, thresholdByte: thresholdByte(files.manifest.threshold) };
      loaded.push(m);
      compare.push(m);
      log.info('compare.model', { index, model: files.manifest.name, version: files.manifest.version, provider: session.provider, threads });
    }
    let shadow: ExtraModel | undefined;
    if (config.shadow) {
      const files = resolveModel(config.modelsDir, config.shadow);
      checkSameInput(live, files, 'shadow');
      const session = await createCrackSession({ model: files, providers: config.providers, threads: 1, nice: SHADOW_NICE, log: log.child({ model: files.manifest.name, role: 'shadow' }), resolveTensorrt: tensorrtResolver(config) });
      shadow = { index: -1, files, session, thresholdByte: thresholdByte(files.manifest.threshold) };
      loaded.push(shadow);
      log.info('shadow.model', { model: files.manifest.name, version: files.manifest.version, provider: session.provider, rate: config.shadowRate, nice: SHADOW_NICE });
    }
    return { compare, shadow, release };
  } catch (err) {
    await release();
    throw err;
  }
}
