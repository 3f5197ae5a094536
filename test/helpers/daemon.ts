// Starts the real daemon (dist/server/cli/main.js serve) as a child process on a free port.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
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

/**
 * Reads a daemon's stdout as JSON log lines into `logs` (a line that is not JSON is kept as
 * `{ event: 'non-json-output', line }`). Resolves with the port of its `http.listening` line; rejects
 * when it exits first or, with `timeoutMs`, does not listen in time.
 */
export function readDaemonLog(child: ChildProcess, logs: Record<string, any>[], stderr: () => string, timeoutMs?: number): Promise<number> {
  let partial = '';
  return new Promise<number>((resolve, reject) => {
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => reject(new Error(`daemon did not listen within ${timeoutMs / 1000} s; stderr: ${stderr()}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        try {
          const rec = JSON.parse(line);
          logs.push(rec);
          if (rec.event === 'http.listening') {
            clearTimeout(timer);
            resolve(rec.port);
          }
        } catch {
          logs.push({ event: 'non-json-output', line });
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before listening; stderr: ${stderr()}`));
    });
  });
}

export async function startDaemon(args: string[] = [], opts: { env?: NodeJS.ProcessEnv; dataDir?: string; port?: number } = {}): Promise<Daemon> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'crackscope-test-'));
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', String(opts.port ?? 0), '--data-dir', dataDir, ...args], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, any>[] = [];
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const port = await readDaemonLog(child, logs, () => err, 60_000);
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    logs,
    stderr: () => err,
    stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return Promise.resolve(child.exitCode);
      return new Promise((resolve) => {
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      });
    },
  };
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
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`got ${frames.length}/${count} frames in ${timeoutMs} ms`)), timeoutMs);
      ws.on('error', reject);
      ws.on('message', (data, isBinary) => {
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
