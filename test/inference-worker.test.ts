// The inference worker thread (server/inference/session.ts + session-worker.ts) as the daemon runs
// it: a real onnxruntime-node session in a worker, on a small real model (the passthrough model:
// mask = max(R, G, B), 64×96). From TypeScript sources session.ts stays in-thread (a worker cannot
// load a .ts file), so this suite runs the built JavaScript (dist/, `npm run build`).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../server/config/schema.js';
import { resolveModel } from '../server/inference/manifest.js';
import { writePassthroughModel } from '../server/inference/passthrough-model.js';
import { createLogger } from '../server/log/logger.js';
import { need } from './helpers/need.js';

const BUILT = path.join(PROJECT_ROOT, 'dist/server/inference/session.js');
const H = 64,
  W = 96;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-worker-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const logs: Record<string, unknown>[] = [];
const log = createLogger('debug', {}, (l) => logs.push(JSON.parse(l)));

const built = () => import(pathToFileURL(BUILT).href) as Promise<typeof import('../server/inference/session.js')>;

/** Fails (instead of hanging the suite) when the worker never answers. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms))),
  ]);
}

describe.skipIf(!need('the build (dist/server/inference/session.js)', fs.existsSync(BUILT), 'npm run build'))('the inference worker thread', () => {
  it('runs the model in a worker: the mask is max(R, G, B) of a shared-memory frame; a bad frame is an error, the worker lives on; after release, calls fail', async () => {
    const { createCrackSession } = await built();
    writePassthroughModel(dir, { height: H, width: W });
    const model = resolveModel(dir, 'passthrough');
    const session = await within(createCrackSession({ model, providers: ['cpu'], threads: 1, log, logLevel: 'error' }), 30_000, 'worker start');
    expect({ provider: session.provider, providerLabel: session.providerLabel, fallbacks: session.fallbacks }).toEqual({
      provider: 'cpu',
      providerLabel: 'CPU',
      fallbacks: [],
    });
    // the session was made in the worker, whose logger is its own: none of its lines reach this one
    expect(logs.filter((l) => l.event === 'inference.provider')).toEqual([]);

    // the daemon's frames live in SharedArrayBuffers
    const rgb = new Uint8Array(new SharedArrayBuffer(H * W * 3));
    const expected = new Uint8Array(H * W);
    for (let i = 0; i < H * W; i++) {
      rgb[i * 3] = i % 251;
      rgb[i * 3 + 1] = (i * 7) % 256;
      rgb[i * 3 + 2] = 100;
      expected[i] = Math.max(i % 251, (i * 7) % 256, 100);
    }
    const mask = await within(session.run(rgb, H, W), 10_000, 'run');
    expect(mask).toBeInstanceOf(Uint8Array);
    expect(mask.length).toBe(H * W);
    expect(Buffer.from(mask).equals(Buffer.from(expected))).toBe(true);
    // the input was not changed on its way through
    expect(rgb[3 * 5]).toBe(5);

    // a frame whose size disagrees with its bytes: the worker answers with an error, not silence
    await expect(within(session.run(new Uint8Array(100), H, W), 10_000, 'bad run')).rejects.toThrow("Tensor's size(18432) does not match data length(100).");
    // a frame of another size than the model's: onnxruntime refuses it, reported the same way
    await expect(within(session.run(new Uint8Array(32 * 48 * 3), 32, 48), 10_000, 'wrong size run')).rejects.toThrow(
      /^Got invalid dimensions for input: image for the following indices\n index: 1 Got: 32 Expected: 64\n index: 2 Got: 48 Expected: 96/,
    );
    // and the worker still serves the next good frame
    const again = await within(session.run(rgb, H, W), 10_000, 'run after errors');
    expect(Buffer.from(again).equals(Buffer.from(expected))).toBe(true);

    await within(session.release(), 10_000, 'release');
    // the worker is gone: a call is refused at once with the worker's exit, not left waiting
    await expect(within(session.run(rgb, H, W), 2_000, 'run after release')).rejects.toThrow(/^inference worker exited \(1\)$/);
  }, 60_000);

  it('a model onnxruntime cannot load is reported by the worker as a model error (exit code 78), not a hang', async () => {
    const { createCrackSession } = await built();
    const bad = path.join(dir, 'broken');
    writePassthroughModel(bad, { height: H, width: W });
    fs.writeFileSync(path.join(bad, 'passthrough.onnx'), Buffer.from('not an onnx model'));
    const model = resolveModel(bad, 'passthrough');
    const err = await within(createCrackSession({ model, providers: ['cpu'], threads: 1, log, logLevel: 'error' }), 30_000, 'worker start').then(
      () => null,
      (e: Error & { exitCode?: number }) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/^model error: .*broken\/passthrough\.onnx: onnxruntime cannot load it: /);
    expect(err!.exitCode).toBe(78);
  }, 60_000);
});
