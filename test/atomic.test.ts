// Crash-safe writes (server/storage/atomic.ts), in-process. A power cut cannot be staged here, so the
// order of the steps that make a write survive one is watched instead: data written and fsynced in
// a temporary file of the same folder, renamed over the final name, then the folder fsynced.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DiskFullError,
  fsyncPath,
  fsyncPathSync,
  fsyncTreeSync,
  isDiskFull,
  writeFileAtomic,
  writeFileAtomicSync,
  writeFileSynced,
} from '../server/storage/atomic.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cs-atomic-'));
const openFds = () => fs.readdirSync('/proc/self/fd').length;

afterEach(() => vi.restoreAllMocks());

/** records open / write / sync / close / rename / rm on the files under `dir`, in order */
function watchIo(dir: string): string[] {
  const steps: string[] = [];
  const rel = (p: unknown) => (String(p) === dir ? '<dir>' : path.relative(dir, String(p)));
  const realOpen = fsp.open.bind(fsp);
  vi.spyOn(fsp, 'open').mockImplementation(async (p: any, flags?: any, mode?: any) => {
    const fh = await realOpen(p, flags, mode);
    steps.push(`open ${rel(p)} ${flags}`);
    const { writeFile, sync, close } = fh;
    fh.writeFile = (async (...a: any[]) => (steps.push(`write ${rel(p)}`), writeFile.apply(fh, a as any))) as any;
    fh.sync = async () => (steps.push(`sync ${rel(p)}`), sync.apply(fh));
    fh.close = async () => (steps.push(`close ${rel(p)}`), close.apply(fh));
    return fh;
  });
  const realRename = fsp.rename.bind(fsp);
  vi.spyOn(fsp, 'rename').mockImplementation(async (a: any, b: any) => (steps.push(`rename ${rel(a)} ${rel(b)}`), realRename(a, b)));
  const realRm = fsp.rm.bind(fsp);
  vi.spyOn(fsp, 'rm').mockImplementation(async (p: any, o?: any) => (steps.push(`rm ${rel(p)}`), realRm(p, o)));
  return steps;
}

/** the same for the synchronous calls: openSync / fsyncSync / closeSync / renameSync under `dir` */
function watchSyncIo(dir: string): string[] {
  const steps: string[] = [];
  const rel = (p: unknown) => (String(p) === dir ? '<dir>' : path.relative(dir, String(p)));
  const opened = new Map<number, string>();
  const realOpen = fs.openSync.bind(fs);
  vi.spyOn(fs, 'openSync').mockImplementation((p: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode | null) => {
    const fd = realOpen(p, flags ?? 'r', mode);
    opened.set(fd, rel(p));
    steps.push(`open ${rel(p)} ${flags}`);
    return fd;
  });
  const realSync = fs.fsyncSync.bind(fs);
  vi.spyOn(fs, 'fsyncSync').mockImplementation((fd: number) => (steps.push(`sync ${opened.get(fd)}`), realSync(fd)));
  const realClose = fs.closeSync.bind(fs);
  vi.spyOn(fs, 'closeSync').mockImplementation((fd: number) => (steps.push(`close ${opened.get(fd)}`), realClose(fd)));
  const realRename = fs.renameSync.bind(fs);
  vi.spyOn(fs, 'renameSync').mockImplementation((a: fs.PathLike, b: fs.PathLike) => (steps.push(`rename ${rel(a)} ${rel(b)}`), realRename(a, b)));
  return steps;
}

describe('isDiskFull, DiskFullError', () => {
  it('a full disk or a full quota counts; other errors and non-errors do not', () => {
    expect(isDiskFull(Object.assign(new Error('x'), { code: 'ENOSPC' }))).toBe(true);
    expect(isDiskFull(Object.assign(new Error('x'), { code: 'EDQUOT' }))).toBe(true);
    for (const other of ['EACCES', 'EIO', 'ENOENT', undefined]) expect(isDiskFull(Object.assign(new Error('x'), { code: other }))).toBe(false);
    expect(isDiskFull(undefined)).toBe(false);
    expect(isDiskFull(null)).toBe(false);
    expect(isDiskFull('ENOSPC')).toBe(false);
  });

  it('tells the person at the kiosk what was lost and what to do, and keeps the cause', () => {
    const cause = Object.assign(new Error('write failed'), { code: 'ENOSPC' });
    const e = new DiskFullError('the capture', cause);
    expect(e.message).toBe('The disk is full: the capture was not saved. Delete old captures or free space on the device; the live view continues.');
    expect(e.code).toBe('disk-full');
    expect(e.cause).toBe(cause);
    expect(e).toBeInstanceOf(Error);
  });
});

describe('fsyncPath', () => {
  it('syncs a file or a folder, closes what it opened, and fails on a path that is not there', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'a'), 'a');
    const steps = watchIo(dir);
    await fsyncPath(path.join(dir, 'a'));
    await fsyncPath(dir);
    expect(steps).toEqual(['open a r', 'sync a', 'close a', 'open <dir> r', 'sync <dir>', 'close <dir>']);
    await expect(fsyncPath(path.join(dir, 'gone'))).rejects.toMatchObject({ code: 'ENOENT' });
    vi.restoreAllMocks();
    const before = openFds();
    for (let i = 0; i < 50; i++) await fsyncPath(dir);
    expect(openFds()).toBeLessThan(before + 10);
  });
});

describe('writeFileSynced', () => {
  it('writes and fsyncs a new file (rw-r--r--), and never overwrites one that exists', async () => {
    const dir = tmp();
    const file = path.join(dir, 'f.json');
    const steps = watchIo(dir);
    await writeFileSynced(file, '{"a":1}');
    expect(steps).toEqual(['open f.json wx', 'write f.json', 'sync f.json', 'close f.json']);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"a":1}');
    expect(fs.statSync(file).mode & 0o777).toBe(0o644 & ~process.umask());
    await expect(writeFileSynced(file, 'other')).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(file, 'utf8')).toBe('{"a":1}');
    await writeFileSynced(path.join(dir, 'b.bin'), new Uint8Array([1, 2, 255]));
    expect([...fs.readFileSync(path.join(dir, 'b.bin'))]).toEqual([1, 2, 255]);
  });

  it('closes the file even when the write fails', async () => {
    const dir = tmp();
    const steps = watchIo(dir);
    await expect(writeFileSynced(path.join(dir, 'f'), 42 as unknown as string)).rejects.toThrow();
    expect(steps).toEqual(['open f wx', 'write f', 'close f']);
  });
});

describe('writeFileAtomic', () => {
  it('temp file in the same folder, fsynced, renamed over the name, then the folder fsynced', async () => {
    const dir = tmp();
    const file = path.join(dir, 'report.json');
    fs.writeFileSync(file, 'old');
    const steps = watchIo(dir);
    await writeFileAtomic(file, 'new');
    expect(fs.readFileSync(file, 'utf8')).toBe('new');
    expect(fs.readdirSync(dir)).toEqual(['report.json']);
    const t = steps[0].split(' ')[1];
    expect(t).toMatch(new RegExp(`^\\.report\\.json\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`));
    expect(steps).toEqual([`open ${t} wx`, `write ${t}`, `sync ${t}`, `close ${t}`, `rename ${t} report.json`, 'open <dir> r', 'sync <dir>', 'close <dir>']);
    // two writes never share a temporary name
    await writeFileAtomic(file, 'newer');
    expect(steps[8].split(' ')[1]).not.toBe(t);
  });

  it('creates missing folders', async () => {
    const file = path.join(tmp(), 'a', 'b', 'c.txt');
    await writeFileAtomic(file, new Uint8Array([104, 105]));
    expect(fs.readFileSync(file, 'utf8')).toBe('hi');
  });

  it('a failed rename leaves the old file as it was, no temporary file, and the error for the caller', async () => {
    const dir = tmp();
    const target = path.join(dir, 'busy');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'x'), 'x'); // a non-empty folder cannot be renamed over
    const steps = watchIo(dir);
    await expect(writeFileAtomic(target, 'data')).rejects.toMatchObject({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) });
    expect(fs.readdirSync(dir)).toEqual(['busy']);
    expect(fs.readFileSync(path.join(target, 'x'), 'utf8')).toBe('x');
    expect(steps.at(-1)).toMatch(/^rm \.busy\.\d+\.[0-9a-f]{8}\.tmp$/);
  });

  it('a failed write (disk full) removes the temporary file and passes the error on', async () => {
    const dir = tmp();
    const realOpen = fsp.open.bind(fsp);
    vi.spyOn(fsp, 'open').mockImplementation(async (p: any, flags?: any, mode?: any) => {
      const fh = await realOpen(p, flags, mode);
      fh.writeFile = async () => {
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      };
      return fh;
    });
    await expect(writeFileAtomic(path.join(dir, 'f'), 'data')).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('fsyncPathSync, fsyncTreeSync, writeFileAtomicSync (for synchronous callers)', () => {
  it('fsyncPathSync syncs a file or a folder, closes what it opened, and fails on a path that is not there', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'a'), 'a');
    const steps = watchSyncIo(dir);
    fsyncPathSync(path.join(dir, 'a'));
    fsyncPathSync(dir);
    expect(steps).toEqual(['open a r', 'sync a', 'close a', 'open <dir> r', 'sync <dir>', 'close <dir>']);
    expect(() => fsyncPathSync(path.join(dir, 'gone'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('fsyncTreeSync syncs every file and folder below, each folder after what it holds, and closes them all', () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, 'tiles', 'row-0'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'empty'));
    for (const f of ['report.json', 'tiles/t.png', 'tiles/row-0/a.png', 'tiles/row-0/b.png']) fs.writeFileSync(path.join(dir, f), f);
    const steps = watchSyncIo(dir);
    fsyncTreeSync(dir);
    const synced = steps.filter((s) => s.startsWith('sync ')).map((s) => s.slice(5));
    expect([...synced].sort()).toEqual(['<dir>', 'empty', 'report.json', 'tiles', 'tiles/row-0', 'tiles/row-0/a.png', 'tiles/row-0/b.png', 'tiles/t.png']);
    const after = (folder: string, inside: string[]) => inside.every((p) => synced.indexOf(p) < synced.indexOf(folder));
    expect(after('tiles/row-0', ['tiles/row-0/a.png', 'tiles/row-0/b.png'])).toBe(true);
    expect(after('tiles', ['tiles/t.png', 'tiles/row-0'])).toBe(true);
    expect(synced.at(-1)).toBe('<dir>');
    expect(steps.filter((s) => s.startsWith('close ')).length).toBe(synced.length);
  });

  it('writeFileAtomicSync: a temporary sibling, fsynced and closed, then renamed over the name', () => {
    const dir = tmp();
    const file = path.join(dir, 'report.json');
    fs.writeFileSync(file, 'old');
    const steps = watchSyncIo(dir);
    writeFileAtomicSync(file, 'new');
    expect(fs.readFileSync(file, 'utf8')).toBe('new');
    expect(fs.readdirSync(dir)).toEqual(['report.json']);
    const t = `.report.json.tmp-${process.pid}`;
    expect(steps).toEqual([`open ${t} r`, `sync ${t}`, `close ${t}`, `rename ${t} report.json`]);
  });
});
