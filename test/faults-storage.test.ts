// Storage and shutdown against the real daemon: a full disk (a 2 MB tmpfs as the data dir) gives
// the user a clear error while frames keep flowing and leaves nothing half-written; SIGTERM during
// a capture save lets the save finish, closes viewers with 1001 and exits 0 within 5 s.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { collectFrames, type Daemon } from './helpers/daemon.js';
import { DatagramListener } from '../server/systemd/unix-dgram.js';
import { sleep, startFast, tinyModel, tmpDir, waitHealth, waitLog } from './faults-util.js';

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
  it('during a capture save: the save finishes, viewers get 1001, STOPPING=1, exit 0 within 5 s', async () => {
    const sockDir = tmpDir('notify');
    const sockPath = path.join(sockDir, 'notify.sock');
    const notes: string[] = [];
    const listener = new DatagramListener(sockPath, (m) => notes.push(m), 5);
    const d = await startFast(['--source', 'test://snow'], { model: tinyModel(384, 640), env: { NOTIFY_SOCKET: sockPath } });
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
      const stopped = await waitLog(d, (l) => l.event === 'service.stopped', 1000);
      log(
        `SIGTERM: exit ${code} after ${ms} ms; capture HTTP ${res.status}; writes finished during shutdown: ${stopped.writes_finished}; notify: ${JSON.stringify(notes)}`,
      );
      expect(code).toBe(0);
      expect(ms).toBeLessThan(5000);
      expect(await closed).toBe(1001);
      expect(notes.some((n) => n.includes('STOPPING=1'))).toBe(true);
      // the request was either finished and saved whole, or refused before it began (503). On a
      // heavily loaded machine the connection may also close without an answer: when the request
      // had not been read before the listener closed (nothing saved), or when the save outlasted
      // the 2.5 s that shutdown waits for writes (logged; the capture, if it landed, is whole)
      const saved = fs.readdirSync(path.join(d.dataDir, 'captures')).filter((n) => !n.startsWith('.'));
      if (res.status === 201) {
        const dir = path.join(d.dataDir, 'captures', res.body.id!);
        expect(fs.readdirSync(dir).sort()).toEqual(['image.jpg', 'mask.png', 'report.json', 'thumb.jpg']);
        expect(JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')).id).toBe(res.body.id);
      } else if (res.status === 0) {
        const gaveUp = d.logs.some((l) => l.event === 'service.writes_unfinished');
        log(
          `SIGTERM: no answer to the capture request; shutdown ${gaveUp ? 'gave up waiting for it' : 'closed before it was read'}; captures on disk: ${saved.length}`,
        );
        if (!gaveUp) expect(saved).toEqual([]);
        for (const id of saved)
          expect(fs.readdirSync(path.join(d.dataDir, 'captures', id)).sort()).toEqual(['image.jpg', 'mask.png', 'report.json', 'thumb.jpg']);
      } else {
        expect(res.status).toBe(503);
        expect(saved).toEqual([]);
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
