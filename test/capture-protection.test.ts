// Visitors cannot erase a curator's work (issue 22): captures saved in curator mode (admin token or
// operator PIN) are protected and never evicted; visitor saves are rate-limited per kiosk and
// evicted first; when protected captures fill the quota, visitor saves are refused (507), counted
// in /metrics and warned about in /healthz, and nothing is deleted. Store-level checks first (fast,
// synthetic files), then the real daemon under 500 rapid visitor saves.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureStore, CaptureProtectedError, QuotaFullError } from '../server/storage/captures.js';
import { memLog } from './helpers/mem-log.js';
import type { Daemon } from './helpers/daemon.js';
import { startFast, tinyModel, tmpDir, waitHealth } from './faults-util.js';

const files = (n: number) => ({
  'image.jpg': Buffer.alloc(n, 1),
  'mask.png': Buffer.alloc(10, 2),
  'thumb.jpg': Buffer.alloc(10, 3),
  'report.json': JSON.stringify({ createdAt: new Date().toISOString(), source: 'test://' }),
});
const tick = () => new Promise((r) => setTimeout(r, 2));

describe('CaptureStore: protected and visitor captures', () => {
  it('evicts visitor captures only, oldest first; refuses a visitor save that only deleting protected ones could fit', async () => {
    const { log, lines } = memLog();
    const s = new CaptureStore({ dataDir: tmpDir('prot'), quotaMb: 1, log });
    const K = 250 * 1024; // four fit in the 1 MB quota, five do not
    const visitorOld = (await s.save(files(K), undefined, 'visitor')).id;
    await tick();
    const curator: string[] = [];
    for (let i = 0; i < 3; i++) {
      curator.push((await s.save(files(K), undefined, 'curator')).id);
      await tick();
    }
    expect((await s.list()).find((c) => c.id === curator[0])?.protected).toBe(true);
    const v2 = (await s.save(files(K))).id; // default: a visitor's
    await tick();
    const v3 = (await s.save(files(K))).id;
    await tick();
    let ids = (await s.list()).map((c) => c.id);
    for (const id of curator) expect(ids).toContain(id);
    expect(ids).toContain(v3);
    // the oldest captures are the curator's, but only visitor captures were evicted
    expect(lines.filter((l) => l.event === 'capture.evicted').map((l) => l.id)).toEqual([visitorOld, v2]);
    // a fourth curator capture: the last visitor capture makes way
    curator.push((await s.save(files(K), undefined, 'curator')).id);
    ids = (await s.list()).map((c) => c.id);
    expect(ids).not.toContain(v3);
    expect(ids.sort()).toEqual([...curator].sort());
    // protected captures fill the quota: a visitor save is refused, nothing is deleted
    const err = await s.save(files(30 * 1024)).catch((e) => e);
    expect(err).toBeInstanceOf(QuotaFullError);
    expect(err.message).toMatch(/protected captures.*visitor saves are paused/);
    expect((await s.list()).map((c) => c.id).sort()).toEqual([...curator].sort());
    expect(s.quota()).toMatchObject({ full: true, refused: 1, visitorCount: 0, protectedCount: 4, evicted: 3 });
    // a curator's save is never refused for the quota, and protected captures past it stay
    curator.push((await s.save(files(K), undefined, 'curator')).id);
    expect(s.quota().protectedBytes).toBeGreaterThan(1024 * 1024);
    expect((await s.list()).map((c) => c.id).sort()).toEqual([...curator].sort());
  });

  it('a protected capture is deleted only by a curator; deleting one makes room again', async () => {
    const { log } = memLog();
    const s = new CaptureStore({ dataDir: tmpDir('prot'), quotaMb: 1, log });
    const a = (await s.save(files(600 * 1024), undefined, 'curator')).id;
    await tick();
    const b = (await s.save(files(500 * 1024), undefined, 'curator')).id;
    await expect(s.save(files(1024))).rejects.toBeInstanceOf(QuotaFullError);
    await expect(s.remove(a, false)).rejects.toBeInstanceOf(CaptureProtectedError);
    expect((await s.list()).map((c) => c.id)).toEqual([b, a]);
    await s.remove(a, true);
    expect(s.quota().full).toBe(false);
    const v = (await s.save(files(1024))).id;
    await s.remove(v, false); // a visitor capture needs no curator
  });

  it('captures saved before protection existed (no visitor mark) are kept as protected; orphan marks are cleaned', async () => {
    const { log, lines } = memLog();
    const dataDir = tmpDir('prot');
    const old = (await new CaptureStore({ dataDir, quotaMb: 1, log }).save(files(700 * 1024))).id;
    fs.rmSync(path.join(dataDir, 'capture-visitors', old)); // as a capture from before issue 22 is
    fs.writeFileSync(path.join(dataDir, 'capture-visitors', '20200101T000000000Z-abcdef'), '');
    const s = new CaptureStore({ dataDir, quotaMb: 1, log });
    await s.init();
    expect(lines.some((l) => l.event === 'capture.protected_found' && l.count === 1)).toBe(true);
    expect(fs.readdirSync(path.join(dataDir, 'capture-visitors'))).toEqual([]);
    expect(await s.isProtected(old)).toBe(true);
    const v1 = (await s.save(files(200 * 1024))).id; // fits beside it
    await tick();
    await s.save(files(200 * 1024)); // does not: the visitor capture goes, not the old one
    expect((await s.list()).map((c) => c.id)).not.toContain(v1);
    await expect(s.save(files(400 * 1024))).rejects.toBeInstanceOf(QuotaFullError); // would need the old one gone: refused
    expect(fs.existsSync(path.join(dataDir, 'captures', old, 'image.jpg'))).toBe(true);
  });
});

// --- the real daemon --------------------------------------------------------------------------------
const PIN = '482913';
const TOKEN = 'museum-admin-token-0123456789';
type Res = { status: number; body: any; retryAfter: string | null };
async function post(d: Daemon, headers: Record<string, string> = {}, path = 'captures'): Promise<Res> {
  const r = await fetch(`${d.url}/api/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
  return { status: r.status, body: await r.json().catch(() => null), retryAfter: r.headers.get('retry-after') };
}
async function del(d: Daemon, id: string, headers: Record<string, string> = {}): Promise<number> {
  return (await fetch(`${d.url}/api/captures/${id}`, { method: 'DELETE', headers })).status;
}
const metricsText = async (d: Daemon) => (await fetch(`${d.url}/metrics`)).text();
const metric = (text: string, name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => '\\' + c)} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
/** n requests, `conc` at a time */
async function burst<T>(n: number, conc: number, fn: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < n) {
        next++;
        out.push(await fn());
      }
    }),
  );
  return out;
}
function onDisk(d: Daemon, id: string): string[] {
  return fs.readdirSync(path.join(d.dataDir, 'captures', id)).sort();
}

describe('daemon: 500 rapid visitor saves, no rate limit', () => {
  let d: Daemon;
  beforeAll(async () => {
    d = await startFast(
      ['--source', 'test://snow', '--capture-quota-mb', '1', '--operator-pin', PIN, '--admin-token', TOKEN, '--capture-visitor-interval-s', '0'],
      { model: tinyModel(64, 96) },
    );
    await waitHealth(d, (h) => h.code === 200, 20_000);
  });
  afterAll(async () => {
    expect(await d.stop()).toBe(0);
  });

  it('leave every protected capture in place; then, with the quota full of protected ones, refuse visitors kindly', async () => {
    // curator mode: the PIN and the admin token both work; a wrong PIN is refused, not taken as a visitor
    expect((await post(d, { 'x-operator-pin': PIN }, 'curator')).body).toEqual({ curator: true, via: 'operator-pin' });
    expect((await post(d, { 'x-operator-pin': '000000' }, 'curator')).status).toBe(401);
    expect((await post(d, { 'x-operator-pin': '000000' })).status).toBe(401);
    const protectedIds: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await post(d, i % 2 ? { 'x-operator-pin': PIN } : { authorization: `Bearer ${TOKEN}` });
      expect(r.status).toBe(201);
      expect(r.body.report.savedBy).toBe('curator');
      protectedIds.push(r.body.id);
    }
    const size = (await (await fetch(`${d.url}/api/captures`)).json()).captures[0].bytes as number;

    const results = await burst(500, 8, () => post(d));
    const by = (s: number) => results.filter((r) => r.status === s).length;
    process.stdout.write(
      `[capture-protection] 500 visitor saves: ${by(201)} saved, capture ${size} B, statuses ${JSON.stringify([...new Set(results.map((r) => r.status))])}\n`,
    );
    expect(by(201)).toBe(500);
    for (const id of protectedIds) expect(onDisk(d, id)).toEqual(['image.jpg', 'mask.png', 'report.json', 'thumb.jpg']);
    expect(fs.readdirSync(path.join(d.dataDir, 'capture-visitors')).some((m) => protectedIds.includes(m))).toBe(false);
    const list = (await (await fetch(`${d.url}/api/captures`)).json()).captures as any[];
    expect(
      list
        .filter((c) => c.protected)
        .map((c) => c.id)
        .sort(),
    ).toEqual([...protectedIds].sort());
    const total = list.reduce((s, c) => s + c.bytes, 0);
    expect(total).toBeLessThanOrEqual(1024 * 1024);
    let m = await metricsText(d);
    expect(metric(m, 'crackscope_capture_evictions_total')).toBeGreaterThan(300);
    expect(metric(m, 'crackscope_captures{kind="protected"}')).toBe(10);

    // the kiosk's language goes into the report; anything but a language code is refused
    const saveWith = (body: unknown) =>
      fetch(`${d.url}/api/captures`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const fr = await saveWith({ lang: 'fr' });
    expect(fr.status).toBe(201);
    expect(((await fr.json()) as any).report.language).toBe('fr');
    const badLang = await saveWith({ lang: '<b>fr</b>' });
    expect(badLang.status).toBe(400);
    expect(((await badLang.json()) as any).error).toMatch(/lang must be a language code/);

    // a curator fills the quota with protected captures; visitor captures make way until none fits
    let refused: Res | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const c = await post(d, { 'x-operator-pin': PIN });
      expect(c.status).toBe(201);
      protectedIds.push(c.body.id);
      const v = await post(d);
      if (v.status === 507) refused = v;
      else expect(v.status).toBe(201);
    }
    expect(refused?.body.code).toBe('quota-protected');
    expect(refused?.body.error).toMatch(/filled by curators' protected captures/);
    for (const id of protectedIds) expect(fs.existsSync(path.join(d.dataDir, 'captures', id, 'image.jpg'))).toBe(true);
    const h = await waitHealth(d, (x) => x.code === 200, 3000);
    expect(h.body.warnings?.[0]).toMatch(/protected \(curator\) captures fill the quota/);
    m = await metricsText(d);
    expect(metric(m, 'crackscope_capture_quota_full')).toBe(1);
    expect(metric(m, 'crackscope_capture_saves_refused_total{reason="quota-protected"}')).toBeGreaterThanOrEqual(1);

    // nothing protected is deleted except by a curator
    expect(await del(d, protectedIds[0])).toBe(401);
    expect(await del(d, protectedIds[0], { 'x-operator-pin': '111111' })).toBe(401);
    expect(fs.existsSync(path.join(d.dataDir, 'captures', protectedIds[0]))).toBe(true);
    for (const id of protectedIds.slice(0, 3)) expect(await del(d, id, { 'x-operator-pin': PIN })).toBe(204);
    expect((await post(d)).status).toBe(201); // room again
    expect((await waitHealth(d, (x) => x.code === 200, 3000)).body.warnings).toBeUndefined();
  }, 240_000);
});

describe('daemon: visitor saves are rate-limited per kiosk', () => {
  let d: Daemon;
  beforeAll(async () => {
    // 3 in a row (the default burst), then one per 600 s: long enough that a loaded machine's 500
    // requests cannot earn another token while they run (the default interval is 10 s)
    d = await startFast(['--source', 'test://snow', '--operator-pin', PIN, '--capture-visitor-interval-s', '600'], { model: tinyModel(64, 96) });
    await waitHealth(d, (h) => h.code === 200, 20_000);
  });
  afterAll(async () => {
    expect(await d.stop()).toBe(0);
  });

  it('500 rapid taps save 3 pictures and get a kind message; a curator is not limited; a protected capture is not deletable from the device without the PIN', async () => {
    const mine = await post(d, { 'x-operator-pin': PIN });
    expect(mine.status).toBe(201);
    const results = await burst(500, 8, () => post(d));
    const saved = results.filter((r) => r.status === 201);
    const soon = results.filter((r) => r.status === 429);
    expect(saved).toHaveLength(3);
    expect(soon).toHaveLength(497);
    expect(soon[0].body.code).toBe('too-soon');
    expect(soon[0].body.error).toMatch(/next picture can be saved in \d+ s/);
    expect(soon[0].body.retryAfterS).toBeGreaterThan(0);
    expect(soon[0].body.retryAfterS).toBeLessThanOrEqual(600);
    expect(soon[0].retryAfter).toBe(String(soon[0].body.retryAfterS));
    expect(metric(await metricsText(d), 'crackscope_capture_saves_refused_total{reason="rate-limit"}')).toBe(497);
    // a curator saves whenever they like
    for (let i = 0; i < 3; i++) expect((await post(d, { 'x-operator-pin': PIN })).status).toBe(201);
    // loopback without an admin token: visitors' captures may be deleted (as before), curators' not without the PIN
    expect(await del(d, saved[0].body.id)).toBe(204);
    const refusedDelete = await fetch(`${d.url}/api/captures/${mine.body.id}`, { method: 'DELETE' });
    expect(refusedDelete.status).toBe(403);
    expect(((await refusedDelete.json()) as any).code).toBe('protected');
    expect(onDisk(d, mine.body.id)).toContain('image.jpg');
    expect(await del(d, mine.body.id, { 'x-operator-pin': PIN })).toBe(204);
  }, 120_000);

  it('wrong PINs lock the address out after five tries', async () => {
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await post(d, { 'x-operator-pin': String(100000 + i) }, 'curator')).status);
    expect(codes).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await post(d, { 'x-operator-pin': PIN }, 'curator')).status).toBe(429); // even the right one, for a while
  });
});
