// Captures on disk: <dataDir>/captures/<id>/{image.jpg, mask.png, thumb.jpg, report.json}.
// A capture appears whole or not at all: its files are written into a temporary directory,
// fsynced, and the directory is renamed into place. Past the quota the oldest captures go first.
import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Logger } from '../log/logger.js';
import type { CaptureSummary } from '../http/api-types.js';
import { DiskFullError, fsyncPath, isDiskFull, writeFileSynced } from './atomic.js';

export const CAPTURE_FILES = ['image.jpg', 'mask.png', 'thumb.jpg', 'report.json'] as const;
export type CaptureFile = (typeof CAPTURE_FILES)[number];

/** Capture ids: UTC time to the millisecond + random suffix, so names sort in time order. */
const ID_RE = /^\d{8}T\d{9}Z-[0-9a-f]{6}$/;
const TMP_PREFIX = '.tmp-';

export function isCaptureId(id: unknown): id is string {
  return typeof id === 'string' && ID_RE.test(id);
}
export function isCaptureFile(name: unknown): name is CaptureFile {
  return typeof name === 'string' && (CAPTURE_FILES as readonly string[]).includes(name);
}

export function newCaptureId(now = new Date()): string {
  const iso = now.toISOString(); // 2024-05-01T12:34:56.789Z
  const stamp = iso.slice(0, 10).replace(/-/g, '') + 'T' + iso.slice(11, 23).replace(/[:.]/g, '') + 'Z';
  return `${stamp}-${crypto.randomBytes(3).toString('hex')}`;
}

export type { CaptureSummary } from '../http/api-types.js';

export class CaptureNotFoundError extends Error {
  readonly code = 'not-found';
}

export interface CaptureStoreOptions {
  dataDir: string;
  quotaMb: number;
  log: Logger;
}

export class CaptureStore {
  readonly dir: string;
  private readonly quotaBytes: number;
  private readonly log: Logger;
  /** Serialises saves, deletes and evictions so the quota accounting is never raced. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(opts: CaptureStoreOptions) {
    this.dir = path.join(opts.dataDir, 'captures');
    this.quotaBytes = opts.quotaMb * 1024 * 1024;
    this.log = opts.log;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => {});
    return p;
  }

  /** Creates the directory and removes temporary directories left by a crash mid-save. */
  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    for (const name of await fs.readdir(this.dir)) {
      if (name.startsWith(TMP_PREFIX)) {
        await fs.rm(path.join(this.dir, name), { recursive: true, force: true });
        this.log.warn('capture.tmp_removed', { dir: name, reason: 'left by an interrupted save' });
      }
    }
  }

  /**
   * Saves one capture atomically. `files` must hold every CAPTURE_FILES entry.
   * Throws DiskFullError when the disk is full (nothing partial is left behind).
   */
  save(files: Record<CaptureFile, Uint8Array | string>, id = newCaptureId()): Promise<CaptureSummary> {
    return this.serial(async () => {
      await fs.mkdir(this.dir, { recursive: true });
      const tmp = path.join(this.dir, `${TMP_PREFIX}${id}`);
      const final = path.join(this.dir, id);
      let bytes = 0;
      try {
        await fs.mkdir(tmp);
        for (const name of CAPTURE_FILES) {
          const data = files[name];
          if (data === undefined) throw new Error(`capture file ${name} missing`);
          await writeFileSynced(path.join(tmp, name), data);
          bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
        }
        await fsyncPath(tmp);
        await fs.rename(tmp, final);
        await fsyncPath(this.dir);
      } catch (err) {
        await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
        if (isDiskFull(err)) {
          this.log.error('capture.disk_full', { id, err: (err as Error).message });
          throw new DiskFullError('the capture', err);
        }
        this.log.error('capture.save_failed', { id, err: (err as Error).message });
        throw err;
      }
      this.log.info('capture.saved', { id, bytes });
      await this.enforceQuota(id);
      return this.summary(id);
    });
  }

  /** Removes the oldest captures until the total is within the quota; never the one just saved. */
  private async enforceQuota(keep: string): Promise<void> {
    const all = await this.listUnlocked(); // newest first
    let total = all.reduce((s, c) => s + c.bytes, 0);
    for (let i = all.length - 1; i >= 0 && total > this.quotaBytes; i--) {
      const c = all[i];
      if (c.id === keep) continue;
      await fs.rm(path.join(this.dir, c.id), { recursive: true, force: true });
      total -= c.bytes;
      this.log.warn('capture.evicted', { id: c.id, bytes: c.bytes, reason: 'capture quota exceeded', quotaMb: this.quotaBytes / 1048576, totalBytes: total });
    }
    await fsyncPath(this.dir).catch(() => {});
  }

  private async summary(id: string): Promise<CaptureSummary> {
    const dir = path.join(this.dir, id);
    let bytes = 0;
    let createdAt = '';
    for (const name of CAPTURE_FILES) {
      const st = await fs.stat(path.join(dir, name)).catch(() => undefined);
      if (st) {
        bytes += st.size;
        if (!createdAt) createdAt = st.mtime.toISOString();
      }
    }
    const s: CaptureSummary = { id, createdAt, bytes };
    try {
      const r = JSON.parse(await fs.readFile(path.join(dir, 'report.json'), 'utf8'));
      if (typeof r.createdAt === 'string') s.createdAt = r.createdAt;
      if (typeof r.source === 'string') s.source = r.source;
      if (typeof r.frameId === 'number') s.frameId = r.frameId;
      if (typeof r.analysis?.crack_count === 'number') s.crackCount = r.analysis.crack_count;
    } catch {
      /* a report that cannot be read still lists the capture */
    }
    return s;
  }

  private async listUnlocked(): Promise<CaptureSummary[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const ids = names.filter(isCaptureId).sort().reverse();
    return Promise.all(ids.map((id) => this.summary(id)));
  }

  /** All captures, newest first. */
  list(): Promise<CaptureSummary[]> {
    return this.listUnlocked();
  }

  /** Absolute path of one file of a capture; throws CaptureNotFoundError for unknown or invalid ids. */
  async filePath(id: string, file: string): Promise<string> {
    if (!isCaptureId(id) || !isCaptureFile(file)) throw new CaptureNotFoundError('no such capture');
    const p = path.join(this.dir, id, file);
    try {
      await fs.access(p);
    } catch {
      throw new CaptureNotFoundError('no such capture');
    }
    return p;
  }

  async read(id: string, file: string): Promise<Buffer> {
    return fs.readFile(await this.filePath(id, file));
  }

  remove(id: string): Promise<void> {
    return this.serial(async () => {
      if (!isCaptureId(id)) throw new CaptureNotFoundError('no such capture');
      const dir = path.join(this.dir, id);
      try {
        await fs.access(dir);
      } catch {
        throw new CaptureNotFoundError('no such capture');
      }
      // Rename first so a crash mid-delete leaves a temp dir (cleaned at start), never half a capture.
      const doomed = path.join(this.dir, `${TMP_PREFIX}del-${id}`);
      await fs.rename(dir, doomed);
      await fsyncPath(this.dir).catch(() => {});
      await fs.rm(doomed, { recursive: true, force: true });
      this.log.info('capture.deleted', { id });
    });
  }
}
