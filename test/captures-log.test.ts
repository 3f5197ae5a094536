// What an operator reads about the capture store (issue 21, from surviving mutants of
// server/storage/captures.ts): its log lines field by field, its errors' words and codes, the
// quota's state as /healthz and /metrics show it, and capture ids. In-process, fast.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DiskFullError } from '../server/storage/atomic.js';
import {
  CaptureNotFoundError,
  CaptureProtectedError,
  CaptureStore,
  isCaptureFile,
  isCaptureId,
  newCaptureId,
  QuotaFullError,
} from '../server/storage/captures.js';
import { memLog } from './helpers/mem-log.js';

const KB = 1024;
const files = (n: number, report: object = { source: 'test://' }) => ({
  'image.jpg': Buffer.alloc(n, 1),
  'mask.png': Buffer.alloc(10, 2),
  'thumb.jpg': Buffer.alloc(10, 3),
  'report.json': JSON.stringify(report),
});
const sizeOf = (n: number, report: object = { source: 'test://' }) => n + 20 + Buffer.byteLength(JSON.stringify(report));
const ids = (() => {
  let t = Date.UTC(2026, 0, 1);
  return () => newCaptureId(new Date((t += 1000)));
})();
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cs-captures-log-'));
const events = (lines: any[], event: string) => lines.filter((l) => l.event === event);

afterEach(() => vi.restoreAllMocks());

describe('capture ids and file names', () => {
  it('ids are the UTC time to the millisecond and six hex digits, and sort in time order', () => {
    const id = newCaptureId(new Date('2024-05-01T12:34:56.789Z'));
    expect(id).toMatch(/^20240501T123456789Z-[0-9a-f]{6}$/);
    expect(isCaptureId(id)).toBe(true);
    expect(newCaptureId(new Date('2024-05-01T12:34:56.790Z')) > id).toBe(true);
    for (const bad of [id.slice(1), `${id}0`, `x${id}`, id.replace('T', '_'), id.replace(/-.*/, '-ABCDEF'), 20240501, null, undefined]) {
      expect(isCaptureId(bad)).toBe(false);
    }
    expect(isCaptureFile('report.json')).toBe(true);
    for (const bad of ['report.json ', 'x.png', '', 7, undefined]) expect(isCaptureFile(bad)).toBe(false);
  });
});

describe('the capture store, as the operator sees it', () => {
  it('start: removes what a crash left, says how many old captures it keeps as protected', async () => {
    const dataDir = tmp();
    const old = ids();
    fs.mkdirSync(path.join(dataDir, 'captures', old), { recursive: true });
    for (const [n, d] of Object.entries(files(100))) fs.writeFileSync(path.join(dataDir, 'captures', old, n), d);
    fs.mkdirSync(path.join(dataDir, 'captures', '.tmp-x'));
    const { log, lines } = memLog();
    const s = new CaptureStore({ dataDir, quotaMb: 1, log });
    await s.init();
    await s.init(); // once only
    expect(events(lines, 'capture.tmp_removed')).toEqual([expect.objectContaining({ dir: '.tmp-x', reason: 'left by an interrupted save' })]);
    expect(events(lines, 'capture.protected_found')).toEqual([
      expect.objectContaining({
        count: 1,
        reason: "curators' captures and captures saved before protection existed are never evicted",
      }),
    ]);
    expect(s.quota()).toEqual({
      quotaBytes: 1024 * 1024,
      protectedBytes: sizeOf(100),
      visitorBytes: 0,
      protectedCount: 1,
      visitorCount: 0,
      evicted: 0,
      refused: 0,
      full: false,
    });
    expect(await s.isProtected(old)).toBe(true);
    // a fresh store says nothing about protected captures it does not have
    const quiet = memLog();
    await new CaptureStore({ dataDir: tmp(), quotaMb: 1, log: quiet.log }).init();
    expect(quiet.lines.map((l) => l.event)).toEqual([]);
  });

  it('saves, evictions and deletions are logged with what was saved, by whom, and why it went', async () => {
    const { log, lines } = memLog();
    const s = new CaptureStore({ dataDir: tmp(), quotaMb: 1, log });
    const v1 = (await s.save(files(400 * KB), ids(), 'visitor')).id;
    const c1 = (await s.save(files(300 * KB), ids(), 'curator')).id;
    expect(events(lines, 'capture.saved')).toEqual([
      expect.objectContaining({ id: v1, bytes: sizeOf(400 * KB), savedBy: 'visitor' }),
      expect.objectContaining({ id: c1, bytes: sizeOf(300 * KB), savedBy: 'curator' }),
    ]);
    expect(await s.isProtected(v1)).toBe(false);
    expect(await s.isProtected(c1)).toBe(true);
    const v2 = (await s.save(files(400 * KB), ids())).id; // visitor by default; 1100 KB > 1024 KB: v1 goes
    expect(events(lines, 'capture.evicted')).toEqual([
      expect.objectContaining({
        id: v1,
        bytes: sizeOf(400 * KB),
        quotaMb: 1,
        totalBytes: sizeOf(300 * KB) + sizeOf(400 * KB),
        reason: 'capture quota exceeded (visitor captures go first; protected ones never)',
      }),
    ]);
    expect(events(lines, 'capture.quota_exceeded')).toEqual([]);
    expect(s.quota()).toMatchObject({
      protectedBytes: sizeOf(300 * KB),
      visitorBytes: sizeOf(400 * KB),
      protectedCount: 1,
      visitorCount: 1,
      evicted: 1,
      full: false,
    });

    // a curator past the quota: nothing protected goes, and the log says the quota is exceeded
    const c2 = (await s.save(files(900 * KB), ids(), 'curator')).id;
    expect(events(lines, 'capture.evicted').map((l) => l.id)).toEqual([v1, v2]);
    expect(events(lines, 'capture.quota_exceeded')).toEqual([
      expect.objectContaining({
        totalBytes: sizeOf(300 * KB) + sizeOf(900 * KB),
        quotaMb: 1,
        reason: 'protected captures exceed the quota; nothing protected is evicted',
      }),
    ]);
    expect(s.quota()).toMatchObject({ visitorCount: 0, protectedCount: 2, evicted: 2, full: true });

    // deleting: a curator's capture needs a curator; the log says what kind went
    await expect(s.remove(c1, false)).rejects.toBeInstanceOf(CaptureProtectedError);
    await s.remove(c1);
    const v3 = (await s.save(files(10), ids())).id;
    await s.remove(v3, false);
    expect(events(lines, 'capture.deleted')).toEqual([
      expect.objectContaining({ id: c1, protected: true }),
      expect.objectContaining({ id: v3, protected: false }),
    ]);
    expect((await s.list()).map((c) => c.id)).toEqual([c2]);
  });

  it('visitor saves refused while protected captures fill the quota: said once in the log, counted, and undone by a deletion', async () => {
    const { log, lines } = memLog();
    const s = new CaptureStore({ dataDir: tmp(), quotaMb: 2, log });
    const c = (await s.save(files(1900 * KB), ids(), 'curator')).id;
    let refusal: QuotaFullError | undefined;
    for (let i = 0; i < 3; i++) {
      refusal = await s.save(files(200 * KB), ids()).then(
        () => undefined,
        (e) => e,
      );
      expect(refusal).toBeInstanceOf(QuotaFullError);
    }
    expect(refusal!.code).toBe('quota-protected');
    expect(refusal!.protectedBytes).toBe(sizeOf(1900 * KB));
    expect(refusal!.quotaBytes).toBe(2 * 1024 * 1024);
    expect(refusal!.message).toBe("the capture space (2 MB) is filled by curators' protected captures; visitor saves are paused until a curator makes room");
    expect(events(lines, 'capture.quota_protected')).toEqual([
      expect.objectContaining({
        protectedBytes: sizeOf(1900 * KB),
        quotaMb: 2,
        reason: 'protected captures fill the quota: visitor saves refused until a curator makes room',
      }),
    ]);
    expect(s.quota()).toMatchObject({ refused: 3, full: true, visitorCount: 0 });
    // a visitor save that fits beside the protected ones is not refused
    expect((await s.save(files(10), ids())).protected).toBe(false);
    await s.remove(c);
    expect(s.quota()).toMatchObject({ full: false, protectedCount: 0, refused: 3 });
  });

  it("what a caller is told: a missing capture, a protected one, a capture file the caller didn't give", async () => {
    const { log, lines } = memLog();
    const dataDir = tmp();
    const s = new CaptureStore({ dataDir, quotaMb: 1, log });
    const notFound = await s.remove(ids()).then(
      () => undefined,
      (e) => e,
    );
    expect(notFound).toBeInstanceOf(CaptureNotFoundError);
    expect(notFound).toMatchObject({ code: 'not-found', message: 'no such capture' });
    await expect(s.filePath('nope', 'image.jpg')).rejects.toMatchObject({ code: 'not-found', message: 'no such capture' });
    const e = new CaptureProtectedError();
    expect(e.code).toBe('protected');
    expect(e.message).toBe('this capture was saved by a curator and is protected: deleting it needs the admin token or the operator PIN');
    const id = ids();
    const partial = { 'image.jpg': Buffer.alloc(5), 'mask.png': '', 'report.json': '{}' } as any;
    await expect(s.save(partial, id)).rejects.toThrow('capture file thumb.jpg missing');
    expect(events(lines, 'capture.save_failed')).toEqual([expect.objectContaining({ id, err: 'capture file thumb.jpg missing' })]);
    expect(fs.readdirSync(path.join(dataDir, 'captures'))).toEqual([]);
    expect(fs.readdirSync(path.join(dataDir, 'capture-visitors'))).toEqual([]);
    expect(s.quota()).toMatchObject({ visitorCount: 0, visitorBytes: 0 });
  });

  it("a capture's summary falls back to the files' time when its report has none, and skips fields of the wrong type", async () => {
    const { log } = memLog();
    const s = new CaptureStore({ dataDir: tmp(), quotaMb: 1, log });
    const before = Date.now();
    const r = { createdAt: 5, source: ['x'], frameId: '7', analysis: { crack_count: '2' } };
    const sum = await s.save(files(10, r), ids());
    expect(sum).toEqual({ id: sum.id, createdAt: expect.any(String), bytes: sizeOf(10, r), protected: false });
    expect(Date.parse(sum.createdAt)).toBeGreaterThanOrEqual(before - 2000);
    const r2 = { createdAt: '2026-01-01T00:00:00.000Z', source: 'rtsp://cam', frameId: 7, analysis: { crack_count: 0 } };
    expect(await s.save(files(10, r2), ids(), 'curator')).toMatchObject({
      createdAt: '2026-01-01T00:00:00.000Z',
      source: 'rtsp://cam',
      frameId: 7,
      crackCount: 0,
      protected: true,
    });
  });
});

// Survivors of 7 Dec 2026 (BENCHMARKS.md, "Mutation testing (issue 21)"): the quota's exact bounds,
// eviction and list order, the disk_full line. Each checked by hand against its mutant.
describe('the capture store at its exact bounds (issue 21, from surviving mutants)', () => {
  const Q = 1024 * 1024; // quotaMb: 1
  /** files whose total is exactly `total` bytes */
  const filesOf = (total: number) => files(total - sizeOf(0));

  it('protected captures exactly filling the quota make it read full; one byte less does not', async () => {
    const exact = new CaptureStore({ dataDir: tmp(), quotaMb: 1, log: memLog().log });
    await exact.save(filesOf(Q), ids(), 'curator');
    expect(exact.quota()).toMatchObject({ protectedBytes: Q, visitorBytes: 0, refused: 0, full: true });
    const under = new CaptureStore({ dataDir: tmp(), quotaMb: 1, log: memLog().log });
    await under.save(filesOf(Q - 1), ids(), 'curator');
    expect(under.quota()).toMatchObject({ protectedBytes: Q - 1, refused: 0, full: false });
  });

  it('a visitor save that brings protected + visitor bytes exactly to the quota is taken; one byte more is refused', async () => {
    const { log, lines } = memLog();
    const s = new CaptureStore({ dataDir: tmp(), quotaMb: 1, log });
    const c = (await s.save(filesOf(Q / 2), ids(), 'curator')).id;
    const v = await s.save(filesOf(Q / 2), ids());
    expect(v).toMatchObject({ bytes: Q / 2, protected: false });
    expect(s.quota()).toMatchObject({ protectedBytes: Q / 2, visitorBytes: Q / 2, evicted: 0, refused: 0, full: false });
    expect(events(lines, 'capture.evicted')).toEqual([]);
    expect(events(lines, 'capture.quota_exceeded')).toEqual([]);
    expect(events(lines, 'capture.quota_protected')).toEqual([]);
    // protected Q/2 + incoming Q/2 + 1 > Q: evicting every visitor capture would not make room
    const over = await s.save(filesOf(Q / 2 + 1), ids()).catch((e) => e);
    expect(over).toBeInstanceOf(QuotaFullError);
    expect(over).toMatchObject({ protectedBytes: Q / 2, quotaBytes: Q });
    expect(s.quota()).toMatchObject({ visitorBytes: Q / 2, evicted: 0, refused: 1, full: true });
    expect((await s.list()).map((x) => x.id)).toEqual([v.id, c]);
  });

  it('eviction goes by id (oldest first, whatever order they were saved in) and stops as soon as the total is exactly the quota', async () => {
    const { log, lines } = memLog();
    const s = new CaptureStore({ dataDir: tmp(), quotaMb: 1, log });
    const [older, old, newest] = [ids(), ids(), ids()];
    // saved out of order: `old` first, then the older one
    await s.save(filesOf(500 * KB), old);
    await s.save(filesOf(100 * KB), older);
    expect(events(lines, 'capture.evicted')).toEqual([]);
    // 100 KB + 500 KB + (Q - 500 KB) > Q; evicting `older` leaves exactly Q: nothing more goes
    await s.save(filesOf(Q - 500 * KB), newest);
    expect(events(lines, 'capture.evicted')).toEqual([expect.objectContaining({ id: older, bytes: 100 * KB, totalBytes: Q, quotaMb: 1 })]);
    expect(events(lines, 'capture.quota_exceeded')).toEqual([]);
    expect(s.quota()).toMatchObject({ visitorBytes: Q, visitorCount: 2, evicted: 1, full: false });
    expect((await s.list()).map((x) => x.id)).toEqual([newest, old]);
  });

  it('list() is newest first by id, down to the millisecond and the random suffix, whatever the order on disk', async () => {
    const s = new CaptureStore({ dataDir: tmp(), quotaMb: 1, log: memLog().log });
    const byAge = [
      '20260101T000000000Z-000001',
      '20260101T000000000Z-00000f', // same millisecond: the suffix decides
      '20260101T000000001Z-000000', // one millisecond later, smaller suffix
      '20260101T000000001Z-ffffff',
      '20260101T000000010Z-000000',
    ];
    for (const i of [2, 0, 4, 1, 3]) await s.save(files(10), byAge[i]);
    const listed = await s.list();
    expect(listed.map((x) => x.id)).toEqual([...byAge].reverse());
    expect(listed.every((x) => x.bytes === sizeOf(10) && !x.protected)).toBe(true);
    // Node promises no order from readdir (libuv happens to sort it by name on Unix, so a list()
    // that forgot to sort would pass above): the folder read back in save order, then reversed
    const realReaddir = fsp.readdir.bind(fsp);
    for (const order of [
      [2, 0, 4, 1, 3],
      [3, 1, 4, 0, 2],
    ]) {
      vi.spyOn(fsp, 'readdir').mockImplementation((async (p: any, o?: any) => (p === s.dir ? order.map((i) => byAge[i]) : realReaddir(p, o))) as any);
      expect((await s.list()).map((x) => x.id)).toEqual([...byAge].reverse());
      vi.restoreAllMocks();
    }
  });

  it('a full disk mid-save: the disk_full line, field by field, the error the caller gets, nothing left behind', async () => {
    const { log, lines } = memLog();
    const dataDir = tmp();
    const s = new CaptureStore({ dataDir, quotaMb: 1, log });
    const kept = await s.save(files(10), ids());
    const id = ids();
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const realOpen = fsp.open.bind(fsp);
    vi.spyOn(fsp, 'open').mockImplementation(async (p: any, flags?: any, mode?: any) => {
      if (String(p).endsWith(path.join(`.tmp-${id}`, 'mask.png'))) throw enospc;
      return realOpen(p, flags, mode);
    });
    const err = await s.save(files(10), id).catch((e) => e);
    expect(err).toBeInstanceOf(DiskFullError);
    expect(err.code).toBe('disk-full');
    expect(err.message).toBe('The disk is full: the capture was not saved. Delete old captures or free space on the device; the live view continues.');
    expect(err.cause).toBe(enospc);
    const full = events(lines, 'capture.disk_full');
    expect(full).toEqual([{ level: 'error', t: expect.any(String), event: 'capture.disk_full', id, err: enospc.message }]);
    expect(lines.filter((l) => l.level === 'error')).toEqual(full); // not also a save_failed line
    expect(fs.readdirSync(path.join(dataDir, 'captures'))).toEqual([kept.id]);
    expect(fs.readdirSync(path.join(dataDir, 'capture-visitors'))).toEqual([kept.id]);
    expect(s.quota()).toMatchObject({ visitorCount: 1, visitorBytes: sizeOf(10) });
  });
});

describe('captures the store did not index: another process changed the folder (issue 21, from surviving mutants)', () => {
  /** writes a capture folder by hand, as another process (or an older copy of the service) would */
  const writeCapture = (dataDir: string, id: string, n: number, omit?: string) => {
    fs.mkdirSync(path.join(dataDir, 'captures', id), { recursive: true });
    for (const [name, d] of Object.entries(files(n))) if (name !== omit) fs.writeFileSync(path.join(dataDir, 'captures', id, name), d);
  };

  it('a capture folder missing a file at start is indexed with the bytes it has', async () => {
    const dataDir = tmp();
    const id = ids();
    writeCapture(dataDir, id, 1000, 'mask.png'); // 10 bytes short
    const s = new CaptureStore({ dataDir, quotaMb: 1, log: memLog().log });
    await s.init();
    expect(s.quota()).toMatchObject({ protectedBytes: sizeOf(1000) - 10, protectedCount: 1 });
    expect(await s.list()).toEqual([expect.objectContaining({ id, bytes: sizeOf(1000) - 10, protected: true })]);
  });

  it('a capture written after start: protected unless its visitor marker is there; a visitor may delete only a marked one', async () => {
    const dataDir = tmp();
    const s = new CaptureStore({ dataDir, quotaMb: 1, log: memLog().log });
    await s.init();
    const [curated, visited] = [ids(), ids()];
    writeCapture(dataDir, curated, 100);
    writeCapture(dataDir, visited, 100);
    fs.writeFileSync(path.join(dataDir, 'capture-visitors', visited), '');
    expect(await s.isProtected(curated)).toBe(true);
    expect(await s.isProtected(visited)).toBe(false);
    expect((await s.list()).map((c) => [c.id, c.protected])).toEqual([
      [visited, false],
      [curated, true],
    ]);
    await expect(s.remove(curated, false)).rejects.toBeInstanceOf(CaptureProtectedError);
    expect(fs.existsSync(path.join(dataDir, 'captures', curated))).toBe(true);
    await s.remove(visited, false);
    expect(fs.existsSync(path.join(dataDir, 'captures', visited))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'capture-visitors', visited))).toBe(false);
    expect((await s.list()).map((c) => c.id)).toEqual([curated]);
  });

  it('list() of a captures path that is not a folder fails loudly (only a missing folder lists nothing)', async () => {
    const dataDir = tmp();
    const s = new CaptureStore({ dataDir, quotaMb: 1, log: memLog().log });
    await s.init();
    fs.rmSync(path.join(dataDir, 'captures'), { recursive: true });
    expect(await s.list()).toEqual([]);
    fs.writeFileSync(path.join(dataDir, 'captures'), 'not a folder');
    await expect(s.list()).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});

describe('protection and the start-up index (issue 21, from surviving mutants of the 7 Dec re-run)', () => {
  it("a curator's capture stays protected after a restart (no visitor marker is written for it); a visitor's does not", async () => {
    const dataDir = tmp();
    const s = new CaptureStore({ dataDir, quotaMb: 1, log: memLog().log });
    const curated = (await s.save(files(100), ids(), 'curator')).id;
    const visited = (await s.save(files(100), ids())).id;
    expect(fs.readdirSync(path.join(dataDir, 'capture-visitors'))).toEqual([visited]);
    const { log, lines } = memLog();
    const again = new CaptureStore({ dataDir, quotaMb: 1, log });
    expect(await again.isProtected(curated)).toBe(true);
    expect(await again.isProtected(visited)).toBe(false);
    expect(again.quota()).toMatchObject({ protectedCount: 1, visitorCount: 1 });
    // the start-up line counts the protected captures only
    expect(events(lines, 'capture.protected_found')).toEqual([expect.objectContaining({ count: 1 })]);
  });

  it('a save without savedBy is a visitor save, and logged as one', async () => {
    const { log, lines } = memLog();
    const s = new CaptureStore({ dataDir: tmp(), quotaMb: 1, log });
    const id = (await s.save(files(10))).id;
    expect(events(lines, 'capture.saved')).toEqual([expect.objectContaining({ id, savedBy: 'visitor' })]);
  });

  it('a stray folder in captures/ at start is neither indexed nor counted', async () => {
    const dataDir = tmp();
    fs.mkdirSync(path.join(dataDir, 'captures', 'lost+found'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'captures', 'lost+found', 'image.jpg'), Buffer.alloc(500));
    const { log, lines } = memLog();
    const s = new CaptureStore({ dataDir, quotaMb: 1, log });
    await s.init();
    expect(s.quota()).toMatchObject({ protectedCount: 0, protectedBytes: 0, visitorCount: 0 });
    expect(events(lines, 'capture.protected_found')).toEqual([]);
  });

  it('a start that failed (the data folder not there yet) is tried again', async () => {
    const dataDir = tmp();
    const blocked = path.join(dataDir, 'later');
    fs.writeFileSync(blocked, 'a file where the folder should be');
    const s = new CaptureStore({ dataDir: blocked, quotaMb: 1, log: memLog().log });
    await expect(s.init()).rejects.toMatchObject({ code: expect.stringMatching(/^(EEXIST|ENOTDIR)$/) });
    fs.rmSync(blocked);
    await s.init();
    expect((await s.save(files(10))).protected).toBe(false);
  });

  it('an id that looks right inside an array is not an id; a missing file of a real capture is "no such capture"', async () => {
    const id = ids();
    expect(isCaptureId([id])).toBe(false);
    const s = new CaptureStore({ dataDir: tmp(), quotaMb: 1, log: memLog().log });
    const saved = (await s.save(files(10), id)).id;
    fs.rmSync(path.join(s.dir, saved, 'thumb.jpg'));
    await expect(s.filePath(saved, 'thumb.jpg')).rejects.toMatchObject({ code: 'not-found', message: 'no such capture' });
    await expect(s.remove('../etc')).rejects.toMatchObject({ code: 'not-found', message: 'no such capture' });
  });
});

describe('refusing visitor saves (issue 21, from a surviving mutant)', () => {
  it('deleting a visitor capture does not lift the refusal; deleting a protected one does', async () => {
    const Q = 1024 * 1024;
    const s = new CaptureStore({ dataDir: tmp(), quotaMb: 1, log: memLog().log });
    const visited = (await s.save(files(10), ids())).id;
    const curated = (await s.save(files(Q / 2), ids(), 'curator')).id;
    await expect(s.save(files(Q / 2), ids())).rejects.toBeInstanceOf(QuotaFullError);
    expect(s.quota()).toMatchObject({ refused: 1, full: true });
    await s.remove(visited, false);
    expect(s.quota()).toMatchObject({ visitorCount: 0, full: true });
    await s.remove(curated);
    expect(s.quota()).toMatchObject({ protectedCount: 0, full: false });
  });
});
