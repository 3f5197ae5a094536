import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { CaptureStore, CaptureNotFoundError, isCaptureId, newCaptureId } from '../server/storage/captures.js';
import { CalibrationStore, CalibrationError, parseCalibrationInput } from '../server/storage/calibration.js';
import { DiskFullError } from '../server/storage/atomic.js';
import { memLog } from './helpers/mem-log.js';

const files = (n: number) => ({
  'image.jpg': Buffer.alloc(n, 1),
  'mask.png': Buffer.alloc(10, 2),
  'thumb.jpg': Buffer.alloc(10, 3),
  'report.json': JSON.stringify({ createdAt: new Date().toISOString(), source: 'test://', analysis: { crack_count: 2 } }),
});

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-storage-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('CaptureStore', () => {
  it('saves atomically, lists newest first, reads and deletes', async () => {
    const { log } = memLog();
    const s = new CaptureStore({ dataDir: dir, quotaMb: 10, log });
    await s.init();
    const a = await s.save(files(100));
    await new Promise((r) => setTimeout(r, 5));
    const b = await s.save(files(100));
    expect(isCaptureId(a.id)).toBe(true);
    expect(a.crackCount).toBe(2);
    const list = await s.list();
    expect(list.map((c) => c.id)).toEqual([b.id, a.id]);
    expect(fs.readdirSync(path.join(dir, 'captures', a.id)).sort()).toEqual(['image.jpg', 'mask.png', 'report.json', 'thumb.jpg']);
    expect((await s.read(a.id, 'image.jpg')).length).toBe(100);
    // no temp dirs remain
    expect(fs.readdirSync(path.join(dir, 'captures')).filter((n) => n.startsWith('.'))).toEqual([]);
    await s.remove(a.id);
    expect((await s.list()).map((c) => c.id)).toEqual([b.id]);
    await expect(s.remove(a.id)).rejects.toBeInstanceOf(CaptureNotFoundError);
  });

  it('rejects path traversal and unknown files', async () => {
    const { log } = memLog();
    const s = new CaptureStore({ dataDir: dir, quotaMb: 10, log });
    await s.init();
    const a = await s.save(files(10));
    for (const [id, f] of [
      ['../../etc', 'passwd'],
      [a.id, '../report.json'],
      [a.id, 'other.txt'],
      ['..', 'image.jpg'],
      [newCaptureId(), 'image.jpg'],
    ]) {
      await expect(s.filePath(id, f)).rejects.toBeInstanceOf(CaptureNotFoundError);
    }
    await expect(s.remove('../x')).rejects.toBeInstanceOf(CaptureNotFoundError);
  });

  it('evicts the oldest captures past the quota and logs it', async () => {
    const { log, lines } = memLog();
    const s = new CaptureStore({ dataDir: dir, quotaMb: 1, log });
    await s.init();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push((await s.save(files(400 * 1024))).id);
      await new Promise((r) => setTimeout(r, 3));
    }
    const left = (await s.list()).map((c) => c.id);
    expect(left).toEqual([ids[3], ids[2]]);
    const ev = lines.filter((l) => l.event === 'capture.evicted').map((l) => l.id);
    expect(ev).toEqual([ids[0], ids[1]]);
  });

  it('removes temp dirs left by an interrupted save', async () => {
    const { log, lines } = memLog();
    fs.mkdirSync(path.join(dir, 'captures', '.tmp-x'), { recursive: true });
    const s = new CaptureStore({ dataDir: dir, quotaMb: 1, log });
    await s.init();
    expect(fs.existsSync(path.join(dir, 'captures', '.tmp-x'))).toBe(false);
    expect(lines.some((l) => l.event === 'capture.tmp_removed')).toBe(true);
  });

  it('reports a full disk clearly and leaves nothing partial (tiny tmpfs, needs root)', async (ctx) => {
    const mnt = path.join(dir, 'small');
    fs.mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      ctx.skip();
      return;
    }
    try {
      const { log } = memLog();
      const s = new CaptureStore({ dataDir: mnt, quotaMb: 100, log });
      await s.init();
      const ok = await s.save(files(10 * 1024));
      const err = await s.save(files(1024 * 1024)).catch((e) => e);
      expect(err).toBeInstanceOf(DiskFullError);
      expect(err.message).toMatch(/disk is full/i);
      expect((await s.list()).map((c) => c.id)).toEqual([ok.id]);
      expect(fs.readdirSync(path.join(mnt, 'captures')).filter((n) => n.startsWith('.'))).toEqual([]);
      const cal = new CalibrationStore(mnt, log);
      expect((await cal.set('demo://', { mmPerPx: 0.1 })).mmPerPx).toBe(0.1);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});

describe('CaptureStore: what is listed and counted (issue 21, from surviving mutants)', () => {
  it('a capture larger than the whole quota is kept, alone; the older ones go', async () => {
    const { log, lines } = memLog();
    const s = new CaptureStore({ dataDir: dir, quotaMb: 1, log });
    await s.init();
    const a = await s.save(files(100 * 1024));
    const big = await s.save(files(1536 * 1024));
    expect((await s.list()).map((c) => c.id)).toEqual([big.id]);
    expect(lines.filter((l) => l.event === 'capture.evicted').map((l) => l.id)).toEqual([a.id]);
  });

  it('lists only capture folders, and serves files only from them', async () => {
    const { log } = memLog();
    const s = new CaptureStore({ dataDir: dir, quotaMb: 10, log });
    await s.init();
    const a = await s.save(files(10));
    const caps = path.join(dir, 'captures');
    for (const stray of ['notes', '.tmp-20260101T000000000Z-abcdef', '20260101T000000000Z-ABCDEF', '20260101T000000000Z-abcdef0']) {
      fs.mkdirSync(path.join(caps, stray));
      fs.writeFileSync(path.join(caps, stray, 'image.jpg'), 'x');
    }
    expect((await s.list()).map((c) => c.id)).toEqual([a.id]);
    await expect(s.filePath('notes', 'image.jpg')).rejects.toBeInstanceOf(CaptureNotFoundError);
    await expect(s.read('20260101T000000000Z-ABCDEF', 'image.jpg')).rejects.toBeInstanceOf(CaptureNotFoundError);
    await expect(s.filePath(a.id, 'notes')).rejects.toBeInstanceOf(CaptureNotFoundError);
    await expect(s.remove('notes')).rejects.toBeInstanceOf(CaptureNotFoundError);
    expect(fs.existsSync(path.join(caps, 'notes'))).toBe(true);
    expect(await s.filePath(a.id, 'mask.png')).toBe(path.join(caps, a.id, 'mask.png'));
  });

  it("a capture's summary: its report's fields, its bytes on disk (text counted in bytes)", async () => {
    const { log, lines } = memLog();
    const s = new CaptureStore({ dataDir: dir, quotaMb: 10, log });
    await s.init();
    const report = JSON.stringify({
      createdAt: '2026-01-02T03:04:05.000Z',
      source: 'rtsp://***@cam/1',
      frameId: 77,
      analysis: { crack_count: 4 },
      note: '裂缝',
    });
    const saved = await s.save({ 'image.jpg': Buffer.alloc(300), 'mask.png': Buffer.alloc(20), 'thumb.jpg': Buffer.alloc(10), 'report.json': report });
    const expected = {
      id: saved.id,
      createdAt: '2026-01-02T03:04:05.000Z',
      source: 'rtsp://***@cam/1',
      frameId: 77,
      crackCount: 4,
      bytes: 330 + Buffer.byteLength(report),
      protected: false,
    };
    expect(saved).toEqual(expected);
    expect(await s.list()).toEqual([expected]);
    expect(lines.find((l) => l.event === 'capture.saved')).toMatchObject({ id: saved.id, bytes: expected.bytes });
    // a report of the wrong shape: the capture is still listed, with its file time and size
    const odd = await s.save({
      'image.jpg': Buffer.alloc(5),
      'mask.png': Buffer.alloc(5),
      'thumb.jpg': Buffer.alloc(5),
      'report.json': '{"createdAt":5,"source":1,"frameId":"7","analysis":null}',
    });
    expect(Object.keys(odd).sort()).toEqual(['bytes', 'createdAt', 'id', 'protected']);
    expect(odd.bytes).toBe(15 + 56);
    expect(Date.parse(odd.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    fs.writeFileSync(path.join(dir, 'captures', odd.id, 'report.json'), '{broken');
    expect((await s.list()).find((c) => c.id === odd.id)).toMatchObject({ id: odd.id, bytes: 15 + 7 });
  });

  it('a store whose folder is gone lists nothing (and saves again)', async () => {
    const { log } = memLog();
    const s = new CaptureStore({ dataDir: path.join(dir, 'not-yet'), quotaMb: 10, log });
    expect(await s.list()).toEqual([]);
    expect((await s.save(files(10))).crackCount).toBe(2);
  });
});

describe('CalibrationStore', () => {
  it('persists per source atomically and reloads', async () => {
    const { log } = memLog();
    const c = new CalibrationStore(dir, log);
    expect(await c.get('demo://')).toBeNull();
    await c.set(
      'demo://',
      parseCalibrationInput({
        points: [
          [0, 0],
          [30, 40],
        ],
        distanceMm: 10,
      }),
    );
    await c.set('test://', parseCalibrationInput({ mmPerPx: 0.5 }));
    const again = new CalibrationStore(dir, log);
    expect((await again.get('demo://'))!.mmPerPx).toBeCloseTo(0.2);
    expect((await again.get('test://'))!.mmPerPx).toBe(0.5);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    await again.remove('test://');
    expect(await new CalibrationStore(dir, log).get('test://')).toBeNull();
  });

  it('validates input', () => {
    for (const bad of [
      null,
      [],
      {},
      { mmPerPx: -1 },
      { mmPerPx: 'x' },
      { points: [[0, 0]], distanceMm: 1 },
      {
        points: [
          [0, 0],
          [1, 0],
        ],
        distanceMm: 5,
      },
      {
        points: [
          [0, 0],
          [10, 0],
        ],
        distanceMm: 0,
      },
    ]) {
      expect(() => parseCalibrationInput(bad)).toThrow(CalibrationError);
    }
  });

  it('survives a corrupt file', async () => {
    const { log, lines } = memLog();
    fs.writeFileSync(path.join(dir, 'calibration.json'), '{not json');
    const c = new CalibrationStore(dir, log);
    expect(await c.get('demo://')).toBeNull();
    expect(lines.some((l) => l.event === 'calibration.unreadable')).toBe(true);
  });
});
