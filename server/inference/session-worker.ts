// Worker-thread side of session.ts: owns the onnxruntime session so that run() blocks this thread,
// not the one that reads the camera and serves clients.
import fs from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log/logger.js';
import type { ModelFiles } from './manifest.js';
import { createOrtSession, type TensorrtResolution } from './ort-session.js';
import type { ProviderFallback, ProviderName } from '../protocol/wire-format.js';

export interface WorkerInit {
  model: ModelFiles;
  providers: ProviderName[];
  threads: number;
  tensorrt: TensorrtResolution;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** raise this thread's nice value before the session starts (its pool threads inherit it): shadow models */
  nice?: number;
}
export type WorkerRequest = { id: number; rgb: Uint8Array; height: number; width: number } | { id: number; release: true };
export type WorkerReply =
  | { type: 'ready'; provider: ProviderName; providerLabel: string; fallbacks: ProviderFallback[] }
  | { type: 'init-error'; message: string; isModelError: boolean }
  | { id: number; mask?: Uint8Array; error?: string };

const init = workerData as WorkerInit;
const port = parentPort!;
const log = createLogger(init.logLevel, { service: 'crackscope', component: 'inference' });

/**
 * Linux keeps a nice value per thread, and threads inherit it from the thread that creates them;
 * so niced here, before onnxruntime starts its thread pool, the whole session runs below the live model.
 */
function lowerPriority(nice: number) {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    os.setPriority(tid, nice);
    log.info('inference.priority', { nice, tid });
  } catch (err) {
    log.warn('inference.priority_unchanged', { nice, err: (err as Error).message });
  }
}

try {
  if (init.nice) lowerPriority(init.nice);
  const session = await createOrtSession({ model: init.model, providers: init.providers, threads: init.threads, log, resolveTensorrt: () => init.tensorrt });
  port.postMessage({ type: 'ready', provider: session.provider, providerLabel: session.providerLabel, fallbacks: session.fallbacks } satisfies WorkerReply);
  let input = new Uint8Array(0);
  port.on('message', async (req: WorkerRequest) => {
    if ('release' in req) {
      await session.release().catch(() => undefined);
      port.postMessage({ id: req.id } satisfies WorkerReply);
      return;
    }
    try {
      // onnxruntime-node cannot wrap shared memory: one copy into this thread's own input buffer
      if (input.length !== req.rgb.length) input = new Uint8Array(req.rgb.length);
      input.set(req.rgb);
      const out = await session.run(input, req.height, req.width);
      // copy out of onnxruntime's buffer into one we can hand over without another copy
      const mask = new Uint8Array(out.length);
      mask.set(out);
      port.postMessage({ id: req.id, mask } satisfies WorkerReply, [mask.buffer]);
    } catch (err) {
      port.postMessage({ id: req.id, error: (err as Error).message } satisfies WorkerReply);
    }
  });
} catch (err) {
  port.postMessage({
    type: 'init-error',
    message: (err as Error).message,
    isModelError: (err as Error).name === 'ModelError' || /^model error/.test((err as Error).message),
  } satisfies WorkerReply);
}
