// Source faults against the real daemon: the GStreamer child killed (-9) and hung (SIGSTOP), a
// file:// folder deleted and restored, garbage images in the folder. Each time /healthz turns 503
// with a reason, the journal says why, and frames flow again without anyone restarting anything.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectFrames, ROOT, type Daemon } from './helpers/daemon.js';
import { alive, gstPid, startFast, tmpDir, waitHealth, waitLog, useFastDaemon } from './faults-util.js';

const log = (msg: string) => process.stdout.write(`[faults-source] ${msg}\n`);

describe('GStreamer child killed or hung', () => {
  let d: Daemon;
  useFastDaemon(['--source', 'test://ball'], (daemon) => (d = daemon));

  it('kill -9: 503 with the reason, then a new child and frames again', async () => {
    const pid = gstPid(d);
    const from = d.logs.length;
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    const down = await waitHealth(d, (h) => h.code === 503, 3000, 15);
    expect(down.body.status).toBe('source-down');
    expect(down.body.reason).toMatch(/capture process exited \(SIGKILL\)/);
    const up = await waitHealth(d, (h) => h.code === 200, 10_000);
    log(`kill -9: 503 after ${down.at - t0} ms ("${down.body.reason}"), 200 again after ${up.at - t0} ms`);
    expect(up.at - t0).toBeLessThan(5000);
    const spawn = await waitLog(d, (l) => l.event === 'source.spawn', 1000, from);
    expect(spawn.pid).not.toBe(pid);
    expect(d.logs.slice(from).some((l) => l.event === 'source.down' && /SIGKILL/.test(l.reason))).toBe(true);
    const { frames } = await collectFrames(d.port, 3, 10_000);
    expect(frames).toHaveLength(3);
  });

  it('SIGSTOP (hung child): killed after the stall limit, 503 with the reason, recovers', async () => {
    const pid = gstPid(d);
    const from = d.logs.length;
    const t0 = Date.now();
    process.kill(pid, 'SIGSTOP');
    const down = await waitHealth(d, (h) => h.code === 503, 5000);
    expect(down.body.reason).toMatch(/no (frame|data)/);
    const stalled = await waitLog(d, (l) => l.event === 'source.stalled', 5000, from);
    expect(stalled.pid).toBe(pid);
    const up = await waitHealth(d, (h) => h.code === 200, 10_000);
    const reasons = [
      ...new Set(
        down.seen
          .concat(up.seen)
          .map((h) => h.body.reason)
          .filter(Boolean),
      ),
    ];
    log(`SIGSTOP: 503 after ${down.at - t0} ms, 200 again after ${up.at - t0} ms; reasons: ${JSON.stringify(reasons)}`);
    expect(reasons.some((r) => /killed: no data from the capture process/.test(r))).toBe(true);
    expect(up.at - t0).toBeLessThan(6000); // stall limit 1.5 s + restart
    expect(alive(pid)).toBe(false);
    const { frames } = await collectFrames(d.port, 3, 10_000);
    expect(frames).toHaveLength(3);
  });
});

describe('file:// folder source', () => {
  let d: Daemon;
  let dir: string;
  const bad = ['b-truncated.jpg', 'c-random.jpg', 'd-corrupt.jpg', 'e-text.png', 'f-png-named.jpg'];
  beforeAll(async () => {
    dir = path.join(tmpDir('folder'), 'images');
    fs.mkdirSync(dir);
    const demo = path.join(ROOT, 'models', 'demo');
    const good = fs
      .readdirSync(demo)
      .filter((f) => f.endsWith('.jpg'))
      .slice(0, 3);
    good.forEach((f, i) => fs.copyFileSync(path.join(demo, f), path.join(dir, `a${i}.jpg`)));
    const jpg = fs.readFileSync(path.join(demo, good[0]));
    fs.writeFileSync(path.join(dir, bad[0]), jpg.subarray(0, Math.floor(jpg.length / 3)));
    fs.writeFileSync(path.join(dir, bad[1]), Buffer.from(Array.from({ length: 20000 }, (_, i) => (i * 7919) & 255)));
    const corrupt = Buffer.from(jpg);
    for (let i = 2000; i < corrupt.length - 100; i += 37) corrupt[i] ^= 0x5a;
    fs.writeFileSync(path.join(dir, bad[2]), corrupt);
    fs.writeFileSync(path.join(dir, bad[3]), 'this is not a PNG\n');
    fs.copyFileSync(path.join(demo, 'labels', fs.readdirSync(path.join(demo, 'labels'))[0]), path.join(dir, bad[4]));
    d = await startFast(['--source', `file://${dir}/`]);
    await waitHealth(d, (h) => h.code === 200, 20_000);
  });
  afterAll(async () => {
    expect(await d.stop()).toBe(0);
  });

  it('garbage images are skipped and counted, each named in the journal; frames flow', async () => {
    const h = await waitHealth(d, (x) => x.code === 200, 5000);
    expect(h.body.badFrames).toBeGreaterThanOrEqual(bad.length);
    for (const name of bad) expect(d.logs.some((l) => l.event === 'source.bad_frame' && l.reason.includes(name))).toBe(true);
    const { frames } = await collectFrames(d.port, 8, 10_000);
    expect(frames).toHaveLength(8);
  });

  it('an image turned to garbage while running does not wedge the loop', async () => {
    fs.writeFileSync(path.join(dir, 'a1.jpg'), Buffer.alloc(30000, 0xab));
    const { frames } = await collectFrames(d.port, 30, 15_000); // two loops through the folder
    expect(frames).toHaveLength(30);
    await waitHealth(d, (h) => h.code === 200, 5000);
  });

  it('folder deleted: 503 naming it; restored: recovers by itself', async () => {
    const away = `${dir}.away`;
    const t0 = Date.now();
    fs.renameSync(dir, away);
    const down = await waitHealth(d, (h) => h.code === 503 && /does not exist|missing/.test(h.body.reason ?? ''), 8000);
    expect(down.body.reason).toContain(dir);
    expect(down.body.status).toBe('source-down');
    log(`folder deleted: 503 "${down.body.reason}" after ${down.at - t0} ms`);
    await new Promise((r) => setTimeout(r, 1500));
    const t1 = Date.now();
    fs.renameSync(away, dir);
    const up = await waitHealth(d, (h) => h.code === 200, 15_000);
    log(`folder restored: 200 again after ${up.at - t1} ms`);
    expect(up.at - t1).toBeLessThan(10_000);
    const { frames } = await collectFrames(d.port, 3, 10_000);
    expect(frames).toHaveLength(3);
  });
});
