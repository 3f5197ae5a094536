// Storage and shutdown against the real daemon: a full disk (a 2 MB tmpfs as the data dir) gives
// the user a clear error while frames keep flowing and leaves nothing half-written; SIGTERM during
// a capture save lets the save finish, closes viewers with 1001 and exits 0 (its stop finished
// within stopTimeoutS) before systemd's TimeoutStopSec would kill it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { collectFrames, type Daemon } from './helpers/daemon.js';
import { DatagramListener } from '../server/systemd/unix-dgram.js';
import { sleep, startFast, STOP_TIMEOUT_MS, SYSTEMD_STOP_MS, tinyModel, tmpDir, waitHealth, waitLog } from './faults-util.js';

const log = (msg: string) => process.stdout.write(`[faults-storage] ${msg}\n`);

/** A 2 MB tmpfs (we run as root here); null where mounting is not permitted. */
function smallDisk(): string | null {
  const dir = tmpDir('tmpfs');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return null;
  }
}

const postCapture = (d: Daemon) => fetch(`${d.url}/api/captures`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

describe('full disk', () => {
  let d: Daemon;
  let disk: string | null;
  beforeAll(async () => {
    disk = smallDisk();
    if (!disk) log('mount -t tmpfs is not permitted here: falling back to a 1 MB capture quota (eviction instead of ENOSPC)');
    const dataDir = disk ?? tmpDir('quota');
    d = await startFast(['--source', 'test://snow', '--capture-quota-mb', '1'], { model: tinyModel(384, 640), dataDir });
    await waitHealth(d, (h) => h.code === 200, 20_000);
  });
  afterAll(async () => {
    expect(await d.stop()).toBe(0);
    if (disk) execFileSync('umount', [disk]);
  });

  it('capture → 507 with a clear message while the live view goes on; nothing partial; recovers when space is freed', async (ctx) => {
    if (!disk) ctx.skip();
    const first = await postCapture(d);
    expect(first.status).toBe(201);
    const saved = (await first.json()) as { id: string };
    // fill the disk but for a few KB
    const filler = path.join(disk!, 'filler');
    try {
      fs.writeFileSync(filler, Buffer.alloc(4 * 1024 * 1024));
    } catch {
      /* ENOSPC: that was the point */
    }
    const r = await postCapture(d);
    const body = (await r.json()) as { error: string; code: string };
    log(`full disk: HTTP ${r.status} ${JSON.stringify(body)}`);
    expect(r.status).toBe(507);
    expect(body.code).toBe('disk-full');
    expect(body.error).toMatch(/disk is full.*live view continues/);
    // the live view goes on
    const { frames } = await collectFrames(d.port, 10, 10_000);
    expect(frames).toHaveLength(10);
    expect((await waitHealth(d, (h) => h.code === 200, 3000)).code).toBe(200);
    // nothing half-written, the earlier capture intact
    const dir = path.join(disk!, 'captures');
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect(fs.readdirSync(path.join(dir, saved.id)).sort()).toEqual(['image.jpg', 'mask.png', 'report.json', 'thumb.jpg']);
    expect(d.logs.some((l) => l.event === 'capture.disk_full')).toBe(true);
    // space freed: saving works again
    fs.rmSync(filler);
    expect((await postCapture(d)).status).toBe(201);
  });
});

describe('SIGTERM', () => {
  it(`during a capture save: the save finishes, viewers get 1001, STOPPING=1, exit 0 (stopped within ${STOP_TIMEOUT_MS / 1000} s) before systemd's ${SYSTEMD_STOP_MS / 1000} s`, async () => {
    const sockDir = tmpDir('notify');
    const sockPath = path.join(sockDir, 'notify.sock');
    const notes: string[] = [];
    const listener = new DatagramListener(sockPath, (m) => notes.push(m), 5);
    // 192×320: the tiny model's mask of snow is noise, and measuring cracks in noise is the slowest
    // save there is, all on the event loop (384×640: 4 s at load 10 on this 2-core machine, 1.1 s
    // here); a camera's mask is not noise. The save is still in flight when the signal comes.
    const d = await startFast(['--source', 'test://snow'], { model: tinyModel(192, 320), env: { NOTIFY_SOCKET: sockPath } });
    try {
      await waitHealth(d, (h) => h.code === 200, 20_000);
      const viewer = new WebSocket(`ws://127.0.0.1:${d.port}/ws`);
      const closed = new Promise<number>((r) => viewer.on('close', (code) => r(code)));
      await new Promise((r) => viewer.once('open', r));
      const exit = new Promise<number | null>((r) => d.child.once('exit', (code) => r(code)));
      // send the capture request and SIGTERM the moment it has left
      // (its failure is caught at once: a rejection left for later is an unhandled one meanwhile)
      const pending = postCapture(d).then(
        async (r) => ({ status: r.status, body: (await r.json()) as { id?: string } }),
        (e) => ({ status: 0, body: { error: String(e) } as { id?: string } }),
      );
      await sleep(3);
      const t0 = Date.now();
      d.child.kill('SIGTERM');
      const code = await exit;
      const ms = Date.now() - t0;
      const res = await pending;
      listener.drain();
      const stopped = await waitLog(d, (l) => l.event === 'service.stopped', 1000).catch(() => d.logs.find((l) => l.event === 'service.stop_timeout') ?? {});
      log(
        `SIGTERM: exit ${code} after ${ms} ms; capture HTTP ${res.status}; writes finished during shutdown: ${stopped.writes_finished}; ${stopped.event} ${JSON.stringify(stopped.phases_ms)}; load ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}; notify: ${JSON.stringify(notes)}`,
      );
      // exit 0: the stop finished before its own deadline (stopTimeoutS; past it the service exits 1);
      // and the process was gone before systemd's TimeoutStopSec, past which everything is killed.
      // Not a tighter bound: how long a save takes is the machine's load, not the promise.
      expect(code).toBe(0);
      expect(ms).toBeLessThan(SYSTEMD_STOP_MS);
      expect(await closed).toBe(1001);
      expect(notes.some((n) => n.includes('STOPPING=1'))).toBe(true);
      // the request was either finished and saved whole, or refused (503: before it began, or still
      // unfinished at the deadline). On a heavily loaded machine the request may also not have been
      // sent before the listener closed: then it has no answer and nothing was saved
      // (test/shutdown-capture.test.ts holds "every request that reached the service gets an answer")
      const saved = fs.readdirSync(path.join(d.dataDir, 'captures')).filter((n) => !n.startsWith('.'));
      if (res.status === 201) {
        const dir = path.join(d.dataDir, 'captures', res.body.id!);
        expect(fs.readdirSync(dir).sort()).toEqual(['image.jpg', 'mask.png', 'report.json', 'thumb.jpg']);
        expect(JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')).id).toBe(res.body.id);
      } else {
        if (res.status === 0) log(`SIGTERM: the capture request was not read before the listener closed; captures on disk: ${saved.length}`);
        else expect(res.status).toBe(503);
        // a save refused at the deadline may have landed (the 503 says so): if it did, it is whole
        const gaveUp = d.logs.some((l) => l.event === 'service.writes_unfinished');
        if (!gaveUp) expect(saved).toEqual([]);
        for (const id of saved)
          expect(fs.readdirSync(path.join(d.dataDir, 'captures', id)).sort()).toEqual(['image.jpg', 'mask.png', 'report.json', 'thumb.jpg']);
      }
      expect(fs.readdirSync(path.join(d.dataDir, 'captures')).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
      // no GStreamer child left behind
      const spawned = d.logs.filter((l) => l.event === 'source.spawn').map((l) => l.pid as number);
      for (const pid of spawned) expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      listener.close();
      await d.stop('SIGKILL');
    }
  });
});
