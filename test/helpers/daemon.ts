// Starts the real daemon (dist/server/cli/main.js serve) as a child process on a free port, the same
// way bench and soak do (server/cli/daemon-child.ts), and talks to it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { readDaemonLog, spawnDaemon } from '../../server/cli/daemon-child.js';
import { decodeBinaryMessage, type ComparisonMaskMessage, type FrameMessage, type HelloMessage } from '../../server/protocol/wire-format.js';

/** The tree whose compiled daemon the tests run (CRACKSCOPE_TEST_ROOT: another checkout's build). */
export const ROOT = process.env.CRACKSCOPE_TEST_ROOT ?? path.resolve(import.meta.dirname, '..', '..');
export const MAIN = path.join(ROOT, 'dist', 'server', 'cli', 'main.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export interface Daemon {
  child: ChildProcess;
  port: number;
  url: string;
  dataDir: string;
  /** every JSON log line so far */
  logs: Record<string, any>[];
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export { readDaemonLog };

/** The compiled daemon on a free port (or `opts.port`) with its own data dir, listening before it returns. */
export async function startDaemon(args: string[] = [], opts: { env?: NodeJS.ProcessEnv; dataDir?: string; port?: number } = {}): Promise<Daemon> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'crackscope-test-'));
  const logs: Record<string, any>[] = [];
  const d = await spawnDaemon(['--port', String(opts.port ?? 0), '--data-dir', dataDir, ...args], { main: MAIN, env: opts.env, logs });
  return { child: d.child, port: d.port, url: d.url, dataDir, logs, stderr: d.stderr, stop: (signal = 'SIGTERM') => d.stop(signal) };
}

/**
 * Connects, returns the hello message and the next `count` frames. With `compare`, asks for that
 * comparison model's masks too and waits for each frame's one (keyed by frame id).
 */
export async function collectFrames(
  port: number,
  count: number,
  timeoutMs = 60_000,
  opts: { compare?: number } = {},
): Promise<{ hello: HelloMessage; frames: FrameMessage[]; texts: any[]; comparisonMasks: Map<number, ComparisonMaskMessage> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const frames: FrameMessage[] = [];
  const texts: any[] = [];
  const comparisonMasks = new Map<number, ComparisonMaskMessage>();
  const asked = opts.compare !== undefined;
  const complete = () => (asked ? frames.filter((f) => comparisonMasks.has(f.frameId)).length : frames.length);
  let hello: HelloMessage | undefined;
  // ws emits every message of one TCP read in a row, before the await below resumes: without this, a
  // loaded machine (reads coalesced) handed back one frame more than asked (count 30, got 31)
  let done = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`got ${frames.length}/${count} frames in ${timeoutMs} ms`)), timeoutMs);
      ws.on('error', reject);
      ws.on('message', (data, isBinary) => {
        if (done) return;
        if (!isBinary) {
          const msg = JSON.parse(data.toString());
          if (!hello) {
            hello = msg;
            if (asked) ws.send(JSON.stringify({ type: 'compare', model: opts.compare }));
          }
          texts.push(msg);
          return;
        }
        const m = decodeBinaryMessage(new Uint8Array(data as Buffer));
        if (m.kind === 'comparison') comparisonMasks.set(m.comparison.frameId, m.comparison);
        else frames.push(m.frame);
        if (complete() >= count) {
          done = true;
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    ws.close();
  }
  // with `compare`: only the frames whose comparison mask came (those sent before the request took effect have none)
  return { hello: hello!, frames: asked ? frames.filter((f) => comparisonMasks.has(f.frameId)) : frames, texts, comparisonMasks };
}
