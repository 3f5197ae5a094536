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
  status() {
    return { ...this.st };
  }
  recent() {
    return undefined;
  }
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
    manifest: {
      name: 'tiny',
      version: '0',
      input: { name: 'image', dtype: 'uint8', layout: 'NHWC', height: 32, width: 32 },
      output: { name: 'mask', dtype: 'uint8', meaning: '', layout: 'NHW' },
      threshold: 0.5,
      params: 1,
      gflops: 0,
      metrics: {},
      training: {},
    },
    inference: { provider: 'cpu', providerLabel: 'CPU', fallbacks: [{ provider: 'tensorrt', reason: 'no TensorRT engine for this model at 32x32' }] },
    pipeline: pipeline as unknown as ServiceContext['pipeline'],
  };
}

describe('sd_notify module', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    while (cleanups.length) cleanups.pop()!();
  });

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

  it('READY at once (no camera needed), WATCHDOG while the process is healthy whether or not frames flow, paused only for a hung model run', async () => {
    const sock = tmpSocketPath();
    const { messages, listener, waitFor } = listen(sock);
    cleanups.push(() => listener.close());
    const p = new FakePipeline();
    let busyMs = 0;
    (p as unknown as { inferenceBusyMs(): number }).inferenceBusyMs = () => busyMs;
    const h = attachSystemd(fakeContext(p, 300), { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '100000' });
    cleanups.push(() => h.stop());
    // HTTP and the model are up when attachSystemd is called: ready, with no frame yet
    const ready = await waitFor((m) => m.includes('READY=1'), 1000);
    expect(ready.msg).toMatch(/STATUS=ready, waiting for the first frame \(CPU, model tiny 0\) — not tensorrt: no TensorRT engine for this model at 32x32$/);
    // no camera at all: the pings go on
    let from = messages.length;
    await sleep(400);
    listener.drain();
    expect(messages.slice(from).filter((m) => m.msg === 'WATCHDOG=1').length).toBeGreaterThanOrEqual(3); // every 50 ms; 8 expected

    const feeder = setInterval(() => p.frame(), 20);
    await waitFor((m) => /^STATUS=live: first mask produced on CPU/.test(m), 2000);
    clearInterval(feeder); // the camera is unplugged
    p.st = { ...p.st, state: 'source-down', reason: 'camera unplugged' };
    p.emit('status', p.status());
    await waitFor((m) => m.startsWith('STATUS=source down: camera unplugged'), 1000);
    from = messages.length;
    await sleep(400);
    listener.drain();
    expect(messages.slice(from).filter((m) => m.msg === 'WATCHDOG=1').length, 'camera loss does not stop the pings').toBeGreaterThanOrEqual(3);

    busyMs = 60_000; // a model run that never returns: pings stop, systemd restarts us
    await waitFor((m) => m.startsWith('STATUS=hung: a model run has not returned'), 1000);
    listener.drain();
    from = messages.length;
    await sleep(400);
    listener.drain();
    expect(messages.slice(from).filter((m) => m.msg === 'WATCHDOG=1')).toHaveLength(0);
    busyMs = 0;
    await waitFor((m) => m === 'WATCHDOG=1', 1000, messages.length);

    notifyStopping('SIGTERM');
    await waitFor((m) => m.startsWith('STOPPING=1\nSTATUS=stopping: SIGTERM'), 1000);
  });
});

// ---- the real daemon -------------------------------------------------------------------------

// CRACKSCOPE_TEST_MAIN: run another build of the daemon (e.g. a patched copy)
const MAIN = process.env.CRACKSCOPE_TEST_MAIN ?? path.join(ROOT, 'dist/server/cli/main.js');
const hasDaemon = fs.existsSync(MAIN);

const gstAvailable = (() => {
  try {
    execFileSync('gst-inspect-1.0', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!need('the build (dist/server/cli/main.js)', hasDaemon, 'npm run build'))('the daemon under a fake systemd notify socket', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it.skipIf(!need('GStreamer (gst-inspect-1.0)', gstAvailable, 'Debian packages gstreamer1.0-tools and plugins'))(
    'READY=1 with a camera that delivers nothing, WATCHDOG=1 all along, live once frames come, STOPPING=1 and exit 0 on SIGTERM',
    async () => {
      const sock = tmpSocketPath();
      const { messages, listener, waitFor } = listen(sock);
      try {
        const port = await freePort();
        const out: string[] = [];
        // a tiny real model keeps this test about systemd, not about inference speed
        const modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-models-'));
        writeTinyModel(modelsDir, 'tiny', { height: 64, width: 96 });
        // gst-launch-1.0 on PATH is a wrapper: while the flag exists, a capture process produces
        // nothing (it sleeps) — a camera that is missing or hung from the start
        const binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-bin-'));
        const stallFlag = path.join(binDir, 'stall');
        fs.writeFileSync(stallFlag, '');
        const realGst = execFileSync('sh', ['-c', 'command -v gst-launch-1.0'], { encoding: 'utf8' }).trim();
        fs.writeFileSync(path.join(binDir, 'gst-launch-1.0'), `#!/bin/sh\nif [ -e '${stallFlag}' ]; then exec sleep 600; fi\nexec '${realGst}' "$@"\n`, {
          mode: 0o755,
        });
        child = spawn(
          process.execPath,
          [MAIN, 'serve', '--source', 'test://', '--port', String(port), '--providers', 'cpu', '--source-stall-ms', '1500', '--models-dir', modelsDir],
          {
            cwd: ROOT,
            env: {
              ...process.env,
              PATH: `${binDir}:${process.env.PATH}`,
              NOTIFY_SOCKET: sock,
              WATCHDOG_USEC: '400000',
              CRACKSCOPE_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'cs-data-')),
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        child.stdout!.on('data', (d) => out.push(String(d)));
        child.stderr!.on('data', (d) => out.push(String(d)));
        const exited = new Promise<number | null>((r) => child!.on('exit', (code) => r(code)));

        const early = exited.then((code) => {
          throw new Error(`daemon exited early (${code})`);
        });
        const ready = await Promise.race([waitFor((m) => m.split('\n').includes('READY=1'), 60_000), early]).catch((e) => {
          throw new Error(`${e.message}\n--- daemon output ---\n${out.join('').slice(-4000)}`);
        });
        early.catch(() => undefined);
        expect(ready.msg).toMatch(/STATUS=ready, waiting for the first frame/);
        // no frame for longer than the stall limit and the watchdog timeout: pings go on, the service stays up
        const afterReady = messages.length;
        await sleep(2500);
        listener.drain();
        const pings = messages.slice(afterReady).filter((m) => m.msg.split('\n').includes('WATCHDOG=1'));
        expect(pings.length).toBeGreaterThanOrEqual(6); // every 200 ms
        expect(child.exitCode).toBeNull();
        expect(messages.some((m) => /^STATUS=(source down|ready, waiting)/m.test(m.msg))).toBe(true);

        // the camera comes: the source's own restart picks it up, STATUS says live
        fs.rmSync(stallFlag, { force: true });
        await waitFor((m) => /^STATUS=live: first mask produced/m.test(m), 20_000);

        const beforeTerm = messages.length;
        child.kill('SIGTERM');
        const code = await Promise.race([exited, sleep(20_000).then(() => 'timeout' as const)]);
        listener.drain();
        expect(messages.slice(beforeTerm).some((m) => m.msg.split('\n').includes('STOPPING=1'))).toBe(true);
        expect(code, out.join('').slice(-2000)).toBe(0);
      } finally {
        listener.close();
      }
    },
    120_000,
  );
});
