// The crack model for the daemon: an onnxruntime session in a worker thread (see ort-session.ts for
// provider selection). Frames in SharedArrayBuffer-backed buffers reach the worker without a copy.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log/logger.js';
import { ModelError, type ModelFiles } from './manifest.js';
import { createOrtSession, type CrackSession, type CrackSessionOptions } from './ort-session.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './session-worker.js';

export { createOrtSession, type CrackSessionOptions, type TensorrtResolution } from './ort-session.js';
export type { CrackSession } from './ort-session.js';

const WORKER_URL = new URL('./session-worker.js', import.meta.url);

export async function createCrackSession(opts: CrackSessionOptions & { logLevel?: WorkerInit['logLevel']; nice?: number }): Promise<CrackSession> {
  const init: WorkerInit = {
    nice: opts.nice,
    model: opts.model,
    providers: opts.providers,
    threads: opts.threads,
    tensorrt: opts.resolveTensorrt?.(opts.model) ?? { ok: false, reason: 'no TensorRT engine resolver configured' },
    logLevel: opts.logLevel ?? 'info',
  };
  // Run from TypeScript sources (vitest), a worker could not load the .ts worker file: stay in-thread.
  if (import.meta.url.endsWith('.ts')) return createOrtSession(opts);
  const worker = new Worker(WORKER_URL, { workerData: init });
  const pending = new Map<number, { resolve: (m: Uint8Array) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let dead: Error | null = null;
  const ready = await new Promise<Extract<WorkerReply, { type: 'ready' }>>((resolve, reject) => {
    worker.once('message', (msg: WorkerReply) => {
      if ('type' in msg && msg.type === 'ready') return resolve(msg);
      if ('type' in msg && msg.type === 'init-error') return reject(msg.isModelError ? new ModelError(msg.message) : new Error(msg.message));
      reject(new Error('inference worker sent an unexpected first message'));
    });
    worker.once('error', reject);
  }).catch(async (err) => {
    await worker.terminate();
    throw err;
  });
  const failAll = (err: Error) => {
    dead = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (msg: WorkerReply) => {
    if (!('id' in msg)) return;
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve(msg.mask ?? new Uint8Array(0));
  });
  worker.on('error', (err) => {
    opts.log.error('inference.worker_error', { err: err.message });
    failAll(err);
  });
  worker.on('exit', (code) => failAll(new Error(`inference worker exited (${code})`)));
  const call = (req: Omit<WorkerRequest, 'id'>) =>
    new Promise<Uint8Array>((resolve, reject) => {
      if (dead) return reject(dead);
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...req, id });
    });
  return {
    provider: ready.provider,
    providerLabel: ready.providerLabel,
    fallbacks: ready.fallbacks,
    manifest: opts.model.manifest,
    run: (rgb, height, width) => call({ rgb, height, width }),
    async release() {
      if (!dead) await call({ release: true }).catch(() => undefined);
      await worker.terminate();
    },
  };
}

export type { ModelFiles, Logger };
