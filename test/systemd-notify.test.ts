// sd_notify: the module against a fake pipeline, and the real daemon under a fake NOTIFY_SOCKET.
import { EventEmitter } from 'node:events';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { need } from './helpers/need.js';

import { attachSystemd, notifyStopping, watchdogIntervalMs } from '../server/systemd/index.js';
import { DatagramListener, DatagramSender } from '../server/systemd/unix-dgram.js';
import { loadConfig } from '../server/config/load.js';
import { createLogger } from '../server/log/logger.js';
import type { PipelineStatus, ServiceContext } from '../server/service-context.js';
import { writeTinyModel } from './helpers/tiny-model.js';
import { freePort } from './helpers/daemon.js';

const ROOT = path.resolve(__dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tmpSocketPath() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-notify-'));
  return path.join(dir, 'notify.sock');
}

/** Collects datagrams; waitFor resolves when a message matching the predicate arrives. */
function listen(socketPath: string) {
  const messages: { at: number; msg: string }[] = [];
  const listener = new DatagramListener(socketPath, (msg) => messages.push({ at: Date.now(), msg }), 5);
  const waitFor = async (pred: (m: string) => boolean, timeoutMs: number, from = 0) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      listener.drain();
      const hit = messages.slice(from).find((m) => pred(m.msg));
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms; got ${JSON.stringify(messages.map((m) => m.msg))}`);
      await sleep(10);
    }
  };
  return { messages, listener, waitFor };
}

class FakePipeline extends EventEmitter {
  st: PipelineStatus = { state: 'starting', fps: 0, framesProcessed: 0, framesDropped: 0, badFrames: 0, lastFrameAt: 0 };
  status() { return { ...this.st }; }
  recent() { return undefined; }
  frame() {
    this.st = { ...this.st, state: 'live', fps: 10, framesProcessed: this.st.framesProcessed + 1, lastFrameAt: Date.now() };
    this.emit('frame', { frameId: this.st.framesProcessed });
    this.emit('status', this.status());
  }
}

function fakeContext(pipeline: FakePipeline, sourceStallMs = 300): ServiceContext {
  const lines: string[] = [];
  return {
    config: { ...loadConfig({ env: {} }), sourceStallMs },
    log: createLogger('debug', {}, (l) => lines.push(l)),
    manifest: { name: 'tiny', version: '0', input: { name: 'image', dtype: 'uint8', layout: 'NHWC', height: 32, width: 32 }, output: { name: 'mask', dtype: 'uint8', meaning: '', layout: 'NHW' }, threshold: 0.5, params: 1, gflops: 0, metrics: {}, training: {} },
    inference: { provider: 'cpu', providerLabel: 'CPU', fallbacks: [{ provider: 'tensorrt', reason: 'no TensorRT engine for this model at 32x32' }] },
    pipeline: pipeline as unknown as ServiceContext['pipeline'],
  };
}

describe('sd_notify module', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => { while (cleanups.length) cleanups.pop()!(); });

  it('parses WATCHDOG_USEC and honours WATCHDOG_PID', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '2000000' })).toBe(1000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '2000000', WATCHDOG_PID: '1' }, 2)).toBe(0);
    expect(watchdogIntervalMs({})).toBe(0);
  });

  it('does nothing without NOTIFY_SOCKET', () => {
    const p = new FakePipeline();
    const h = attachSystemd(fakeContext(p), {});
    p.frame();
    h.notifyStopping();
    h.stop();
    expect(p.listenerCount('frame')).toBe(0);
  });

  it('sends to an abstract-namespace socket too', async () => {
    const name = `@crackscope-test-${process.pid}-${Date.now()}`;
    const got: string[] = [];
    const l = new DatagramListener(name, (m) => got.push(m), 5);
    cleanups.push(() => l.close());
    const s = new DatagramSender(name);
    s.send('READY=1');
    s.close();
    await sleep(30);
    l.drain();
    expect(got).toEqual(['READY=1']);
  });

  it('READY after the first frame, WATCHDOG only while frames flow, STOPPING on request', async () => {
    const sock = tmpSocketPath();
    const { messages, listener, waitFor } = listen(sock);
    cleanups.push(() => listener.close());
    const p = new FakePipeline();
    const h = attachSystemd(fakeContext(p, 300), { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '100000' });
    cleanups.push(() => h.stop());
    await sleep(200);
    listener.drain();
    expect(messages.some((m) => /READY=1|WATCHDOG=1/.test(m.msg))).toBe(false);
    expect(messages[0]?.msg).toMatch(/^STATUS=starting/);

    const feeder = setInterval(() => p.frame(), 20);
    const ready = await waitFor((m) => m.includes('READY=1'), 2000);
    expect(ready.msg).toMatch(/STATUS=live: first mask produced on CPU .* — not tensorrt: no TensorRT engine for this model at 32x32$/);
    const from = messages.length;
    await sleep(400);
    listener.drain();
    const pings = messages.slice(from).filter((m) => m.msg === 'WATCHDOG=1');
    expect(pings.length).toBeGreaterThanOrEqual(3); // every 50 ms; 8 expected, slack for a loaded machine

    clearInterval(feeder); // the source stalls
    p.st = { ...p.st, state: 'source-down', reason: 'camera unplugged' };
    p.emit('status', p.status());
    await waitFor((m) => m.startsWith('STATUS=source down: camera unplugged'), 1000);
    await waitFor((m) => m.startsWith('STATUS=stalled'), 1500);
    listener.drain();
    const stallFrom = messages.length;
    await sleep(400);
    listener.drain();
    expect(messages.slice(stallFrom).filter((m) => m.msg === 'WATCHDOG=1')).toHaveLength(0);

    const resume = messages.length;
    const feeder2 = setInterval(() => p.frame(), 20);
    await waitFor((m) => m === 'WATCHDOG=1', 1000, resume);
    clearInterval(feeder2);

    notifyStopping('SIGTERM');
    await waitFor((m) => m.startsWith('STOPPING=1\nSTATUS=stopping: SIGTERM'), 1000);
  });
});

// ---- the real daemon -------------------------------------------------------------------------

// CRACKSCOPE_TEST_MAIN: run another build of the daemon (e.g. a patched copy)
const MAIN = process.env.CRACKSCOPE_TEST_MAIN ?? path.join(ROOT, 'dist/server/cli/main.js');
const hasDaemon = fs.existsSync(MAIN);

/** Every descendant pid of `pid` (from /proc). */
function descendants(pid: number): { pid: number; comm: string }[] {
  const kids: { pid: number; ppid: number; comm: string }[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
      if (m) kids.push({ pid: Number(d), ppid: Number(m[2]), comm: m[1] });
    } catch { /* gone */ }
  }
  const out: { pid: number; comm: string }[] = [];
  const walk = (p: number) => { for (const k of kids.filter((k) => k.ppid === p)) { out.push(k); walk(k.pid); } };
  walk(pid);
  return out;
}

const gstAvailable = (() => { try { execFileSync('gst-inspect-1.0', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();

describe.skipIf(!need('the build (dist/server/cli/main.js)', hasDaemon, 'npm run build'))('the daemon under a fake systemd notify socket', () => {
  let child: ChildProcess | undefined;
  let stopped: number[] = [];
  afterEach(() => {
    for (const pid of stopped) { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } }
    stopped = [];
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it.skipIf(!need('GStreamer (gst-inspect-1.0)', gstAvailable, 'Debian packages gstreamer1.0-tools and plugins'))('READY=1, periodic WATCHDOG=1, pings stop when the source stalls, STOPPING=1 and exit 0 on SIGTERM', async () => {
    const sock = tmpSocketPath();
    const { messages, listener, waitFor } = listen(sock);
    try {
      const port = await freePort();
      const out: string[] = [];
      // a tiny real model keeps this test about systemd, not about inference speed
      const modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-models-'));
      writeTinyModel(modelsDir, 'tiny', { height: 64, width: 96 });
      // gst-launch-1.0 on PATH is a wrapper: while the stall flag exists, a capture process the
      // daemon starts to recover produces nothing (it sleeps), so the stall lasts
      const binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-bin-'));
      const stallFlag = path.join(binDir, 'stall');
      const realGst = execFileSync('sh', ['-c', 'command -v gst-launch-1.0'], { encoding: 'utf8' }).trim();
      fs.writeFileSync(path.join(binDir, 'gst-launch-1.0'), `#!/bin/sh\nif [ -e '${stallFlag}' ]; then exec sleep 600; fi\nexec '${realGst}' "$@"\n`, { mode: 0o755 });
      child = spawn(process.execPath, [MAIN, 'serve', '--source', 'test://', '--port', String(port), '--providers', 'cpu', '--source-stall-ms', '1500', '--models-dir', modelsDir], {
        cwd: ROOT,
        env: { ...process.env, PATH: `${binDir}:${process.env.PATH}`, NOTIFY_SOCKET: sock, WATCHDOG_USEC: '400000', CRACKSCOPE_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'cs-data-')) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (d) => out.push(String(d)));
      child.stderr!.on('data', (d) => out.push(String(d)));
      const exited = new Promise<number | null>((r) => child!.on('exit', (code) => r(code)));

      const early = exited.then((code) => { throw new Error(`daemon exited early (${code})`); });
      await Promise.race([waitFor((m) => m.split('\n').includes('READY=1'), 60_000), early]).catch((e) => { throw new Error(`${e.message}\n--- daemon output ---\n${out.join('').slice(-4000)}`); });
      early.catch(() => undefined);
      const afterReady = messages.length;
      await sleep(1500);
      listener.drain();
      const pings = messages.slice(afterReady).filter((m) => m.msg.split('\n').includes('WATCHDOG=1'));
      expect(pings.length).toBeGreaterThanOrEqual(4); // every 200 ms

      // stall the source: SIGSTOP the GStreamer child(ren) of the daemon
      const gstChildren = () => descendants(child!.pid!).filter((p) => /gst|launch/i.test(p.comm));
      expect(gstChildren().length, `GStreamer child of the daemon; children: ${JSON.stringify(descendants(child.pid!))}`).toBeGreaterThan(0);
      // stall: SIGSTOP the running GStreamer child; any capture process started to recover sleeps
      fs.writeFileSync(stallFlag, '');
      const freeze = () => { for (const p of gstChildren()) if (!stopped.includes(p.pid)) { try { process.kill(p.pid, 'SIGSTOP'); stopped.push(p.pid); } catch { /* gone */ } } };
      freeze();
      const freezer = setInterval(freeze, 20);
      const stallAt = Date.now();
      // pings must stop once the last frame is older than sourceStallMs (1500 ms), plus one interval
      await sleep(1500 + 1000);
      listener.drain();
      const quietFrom = messages.length;
      await sleep(1200);
      listener.drain();
      const late = messages.slice(quietFrom).filter((m) => m.msg.split('\n').includes('WATCHDOG=1'));
      expect(late, `pings after stall at +${Date.now() - stallAt} ms\n--- daemon output ---\n${out.join("").split("\n").filter((l) => !/"level":"debug"/.test(l)).slice(-25).join("\n")}`).toHaveLength(0);
      expect(messages.some((m) => /^STATUS=(stalled|source down)/m.test(m.msg))).toBe(true);

      clearInterval(freezer);
      fs.rmSync(stallFlag, { force: true });
      for (const pid of stopped) { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } }
      stopped = [];
      const beforeTerm = messages.length;
      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(20_000).then(() => 'timeout' as const)]);
      listener.drain();
      expect(messages.slice(beforeTerm).some((m) => m.msg.split('\n').includes('STOPPING=1'))).toBe(true);
      expect(code, out.join('').slice(-2000)).toBe(0);
    } finally {
      listener.close();
    }
  }, 120_000);
});
