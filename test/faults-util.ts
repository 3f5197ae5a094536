// Shared by the fault, security and fuzz tests: a tiny model, fast fault timeouts, health polling.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { scalarMetrics } from '../server/cli/scrape-metrics.js';
import { CONFIG_KEYS } from '../server/config/schema.js';
import { startDaemon, type Daemon } from './helpers/daemon.js';
import { writeTinyModel } from './helpers/tiny-model.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cs-${prefix}-`));
}

/** A tiny model (mask = mean of RGB) of the given size; returns the .onnx path. */
export function tinyModel(height = 64, width = 96): string {
  return writeTinyModel(tmpDir('model'), `tiny${height}x${width}`, { height, width });
}

/**
 * The stop's documented deadlines: the service's own (stopTimeoutS: past it, it answers what is left
 * with 503 and exits 1) and systemd's TimeoutStopSec in the unit (past it, everything is killed).
 */
export const STOP_TIMEOUT_MS = (CONFIG_KEYS.stopTimeoutS.default as number) * 1000;
export const SYSTEMD_STOP_MS =
  Number(/^TimeoutStopSec=(\d+)$/m.exec(fs.readFileSync(path.join(__dirname, '..', 'systemd', 'crackscope.service'), 'utf8'))?.[1]) * 1000;

/** Short fault timeouts so the tests run in seconds. */
export const FAST = ['--providers', 'cpu', '--source-stall-ms', '1500', '--client-stall-ms', '2000', '--fps', '15'];

export async function startFast(args: string[], opts: { model?: string; dataDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Daemon> {
  return startDaemon(['--model', opts.model ?? tinyModel(), ...FAST, ...args], { dataDir: opts.dataDir, env: opts.env });
}

/** A fast daemon for the enclosing describe: started and healthy before its tests, stopped (exit 0) after. */
export function useFastDaemon(args: string[], set: (d: Daemon) => void): void {
  let daemon: Daemon;
  beforeAll(async () => {
    daemon = await startFast(args);
    set(daemon);
    await waitHealth(daemon, (h) => h.code === 200, 20_000);
  });
  afterAll(async () => {
    expect(await daemon.stop()).toBe(0);
  });
}

export interface Health {
  code: number;
  body: Record<string, any>;
}

export async function health(d: Daemon): Promise<Health> {
  const r = await fetch(`${d.url}/healthz`);
  return { code: r.status, body: (await r.json()) as Record<string, any> };
}

/** Polls /healthz every `everyMs` until pred holds; returns the matching reply and when it came. */
export async function waitHealth(d: Daemon, pred: (h: Health) => boolean, timeoutMs: number, everyMs = 25): Promise<Health & { at: number; seen: Health[] }> {
  const end = Date.now() + timeoutMs;
  const seen: Health[] = [];
  for (;;) {
    let h: Health | undefined;
    try {
      h = await health(d);
      seen.push(h);
      if (pred(h)) return { ...h, at: Date.now(), seen };
    } catch {
      /* not listening yet */
    }
    if (Date.now() > end) throw new Error(`health condition not met in ${timeoutMs} ms; last: ${JSON.stringify(h)}`);
    await sleep(everyMs);
  }
}

export async function waitLog(d: Daemon, pred: (rec: Record<string, any>) => boolean, timeoutMs: number, from = 0): Promise<Record<string, any>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const hit = d.logs.slice(from).find(pred);
    if (hit) return hit;
    if (Date.now() > end) throw new Error(`no matching log line in ${timeoutMs} ms; events: ${d.logs.map((l) => l.event).join(' ')}`);
    await sleep(20);
  }
}

/** The pid of the newest GStreamer child, from the daemon's source.spawn log line. */
export function gstPid(d: Daemon): number {
  const rec = d.logs.filter((l) => l.event === 'source.spawn').at(-1);
  if (!rec) throw new Error('no source.spawn log line');
  return rec.pid;
}

export async function metrics(d: Daemon): Promise<Record<string, number>> {
  // A kept-alive connection the daemon closes as idle just as the next GET goes out fails with
  // "other side closed" (seen under load); like any HTTP client, retry that idempotent GET once.
  const get = async () => scalarMetrics(await (await fetch(`${d.url}/metrics`)).text());
  try {
    return await get();
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw err;
    return get();
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A seeded PRNG (mulberry32), so a failing fuzz run can be replayed. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)],
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}
