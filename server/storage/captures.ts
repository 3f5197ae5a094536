// Captures on disk: <dataDir>/captures/<id>/{image.jpg, mask.png, thumb.jpg, report.json}.
// A capture appears whole or not at all: its files are written into a temporary directory,
// fsynced, and the directory is renamed into place.
//
// Who saved it decides what the quota may do with it (issue 22): a capture saved in curator mode
// (admin token or operator PIN) is *protected* and never evicted; visitor captures are evicted,
// oldest first, to make room. When the quota holds only protected captures, a visitor save is
// refused (QuotaFullError) instead of deleting anything. Visitor captures are marked by an empty file
// <dataDir>/capture-visitors/<id>, written before the capture is renamed into place and removed
// after it is gone; a capture without one (a curator's, or one saved before this existed) is
// protected: we cannot know who made an old one, so it is never evicted.
import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Logger } from '../log/logger.js';
import type { CaptureSummary } from '../protocol/api-types.js';
import { DiskFullError, fsyncPath, isDiskFull, writeFileSynced } from './atomic.js';

export const CAPTURE_FILES = ['image.jpg', 'mask.png', 'thumb.jpg', 'report.json'] as const;
/** beside captures/: empty marker files, one per visitor capture (captures/ holds capture folders only) */
const VISITORS = 'capture-visitors';
export type SavedBy = 'curator' | 'visitor';
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

export type { CaptureSummary } from '../protocol/api-types.js';

export class CaptureNotFoundError extends Error {
  readonly code = 'not-found';
}

/** A visitor save refused because protected captures fill the quota; nothing was deleted. */
export class QuotaFullError extends Error {
  readonly code = 'quota-protected';
  constructor(
    readonly protectedBytes: number,
    readonly quotaBytes: number,
  ) {
    super(
      `the capture space (${Math.round(quotaBytes / 1048576)} MB) is filled by curators' protected captures; visitor saves are paused until a curator makes room`,
    );
  }
}

/** A protected capture may be deleted only by a curator. */
export class CaptureProtectedError extends Error {
  readonly code = 'protected';
  constructor() {
    super('this capture was saved by a curator and is protected: deleting it needs the admin token or the operator PIN');
  }
}

interface IndexEntry {
  bytes: number;
  protected: boolean;
}

/** What the quota holds now: for /healthz and /metrics. */
export interface QuotaState {
  quotaBytes: number;
  protectedBytes: number;
  visitorBytes: number;
  protectedCount: number;
  visitorCount: number;
  evicted: number;
  refused: number;
  /** set while visitor saves are refused (protected captures fill the quota); cleared when room is made */
  full: boolean;
}

export interface CaptureStoreOptions {
  dataDir: string;
  quotaMb: number;
  log: Logger;
}

export class CaptureStore {
  readonly dir: string;
  private readonly visitorsDir: string;
  private readonly quotaBytes: number;
  private readonly log: Logger;
  /** Serialises saves, deletes and evictions so the quota accounting is never raced. */
  private chain: Promise<unknown> = Promise.resolve();
  /** id → size and protection of every capture on disk, built by init() (ids sort in time order) */
  private index = new Map<string, IndexEntry>();
  private indexed: Promise<void> | null = null;
  private evictedCount = 0;
  private refusedCount = 0;
  private refusing = false;

  constructor(opts: CaptureStoreOptions) {
    this.dir = path.join(opts.dataDir, 'captures');
    this.visitorsDir = path.join(opts.dataDir, VISITORS);
    this.quotaBytes = opts.quotaMb * 1024 * 1024;
    this.log = opts.log;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => {});
    return p;
  }

  /** Creates the directory, removes temporary directories left by a crash mid-save, indexes the captures. */
  init(): Promise<void> {
    this.indexed ??= this.serial(async () => {
      await fs.mkdir(this.dir, { recursive: true });
      await fs.mkdir(this.visitorsDir, { recursive: true });
      const visitors = new Set(await fs.readdir(this.visitorsDir));
      let kept = 0;
      for (const name of (await fs.readdir(this.dir)).sort()) {
        if (name.startsWith(TMP_PREFIX)) {
          await fs.rm(path.join(this.dir, name), { recursive: true, force: true });
          this.log.warn('capture.tmp_removed', { dir: name, reason: 'left by an interrupted save' });
        } else if (isCaptureId(name)) {
          const isVisitor = visitors.delete(name);
          if (!isVisitor) kept++;
          this.index.set(name, { bytes: await this.sizeOf(name), protected: !isVisitor });
        }
      }
      // markers of captures that are gone (a crash between the two steps of a save or a delete)
      for (const orphan of visitors) await fs.rm(path.join(this.visitorsDir, orphan), { force: true });
      if (kept)
        this.log.info('capture.protected_found', { count: kept, reason: "curators' captures and captures saved before protection existed are never evicted" });
    });
    this.indexed.catch(() => (this.indexed = null)); // a failed start (disk not there yet) is tried again
    return this.indexed;
  }

  private async markedVisitor(id: string): Promise<boolean> {
    return fs.access(path.join(this.visitorsDir, id)).then(
      () => true,
      () => false,
    );
  }

  private async sizeOf(id: string): Promise<number> {
    let bytes = 0;
    for (const name of CAPTURE_FILES) bytes += (await fs.stat(path.join(this.dir, id, name)).catch(() => undefined))?.size ?? 0;
    return bytes;
  }

  /** The quota's state now. */
  quota(): QuotaState {
    let protectedBytes = 0,
      visitorBytes = 0,
      protectedCount = 0,
      visitorCount = 0;
    for (const e of this.index.values()) {
      if (e.protected) [protectedBytes, protectedCount] = [protectedBytes + e.bytes, protectedCount + 1];
      else [visitorBytes, visitorCount] = [visitorBytes + e.bytes, visitorCount + 1];
    }
    const full = this.refusing || protectedBytes >= this.quotaBytes;
    return {
      quotaBytes: this.quotaBytes,
      protectedBytes,
      visitorBytes,
      protectedCount,
      visitorCount,
      evicted: this.evictedCount,
      refused: this.refusedCount,
      full,
    };
  }

  /**
   * Saves one capture atomically. `files` must hold every CAPTURE_FILES entry.
   * Throws DiskFullError when the disk is full (nothing partial is left behind).
   */
  async save(files: Record<CaptureFile, Uint8Array | string>, id = newCaptureId(), savedBy: SavedBy = 'visitor'): Promise<CaptureSummary> {
    await this.init();
    return this.serial(async () => {
      const isProtected = savedBy === 'curator';
      const incoming = CAPTURE_FILES.reduce(
        (s, n) => s + (typeof files[n] === 'string' ? Buffer.byteLength(files[n] as string) : (files[n]?.byteLength ?? 0)),
        0,
      );
      if (!isProtected) {
        // evicting every visitor capture would still not make room: refuse, delete nothing
        const { protectedBytes } = this.quota();
        if (protectedBytes > 0 && protectedBytes + incoming > this.quotaBytes) {
          this.refusedCount++;
          if (!this.refusing)
            this.log.warn('capture.quota_protected', {
              protectedBytes,
              quotaMb: this.quotaBytes / 1048576,
              reason: 'protected captures fill the quota: visitor saves refused until a curator makes room',
            });
          this.refusing = true;
          throw new QuotaFullError(protectedBytes, this.quotaBytes);
        }
      }
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
        if (!isProtected) {
          await writeFileSynced(path.join(this.visitorsDir, id), '');
          await fsyncPath(this.visitorsDir);
        }
        await fs.rename(tmp, final);
        await fsyncPath(this.dir);
      } catch (err) {
        await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
        await fs.rm(path.join(this.visitorsDir, id), { force: true }).catch(() => {});
        if (isDiskFull(err)) {
          this.log.error('capture.disk_full', { id, err: (err as Error).message });
          throw new DiskFullError('the capture', err);
        }
        this.log.error('capture.save_failed', { id, err: (err as Error).message });
        throw err;
      }
      this.index.set(id, { bytes, protected: isProtected });
      this.log.info('capture.saved', { id, bytes, savedBy });
      await this.enforceQuota(id);
      return this.summary(id);
    });
  }

  /**
   * Removes the oldest *visitor* captures until the total is within the quota; never the one just
   * saved, never a protected one (curators' captures past the quota stay, and the quota reads full).
   */
  private async enforceQuota(keep: string): Promise<void> {
    let total = 0;
    for (const e of this.index.values()) total += e.bytes;
    if (total <= this.quotaBytes) return;
    const oldestFirst = [...this.index.keys()].sort();
    for (const id of oldestFirst) {
      if (total <= this.quotaBytes) break;
      const e = this.index.get(id)!;
      if (e.protected || id === keep) continue;
      await fs.rm(path.join(this.dir, id), { recursive: true, force: true });
      await fs.rm(path.join(this.visitorsDir, id), { force: true });
      this.index.delete(id);
      this.evictedCount++;
      total -= e.bytes;
      this.log.warn('capture.evicted', {
        id,
        bytes: e.bytes,
        reason: 'capture quota exceeded (visitor captures go first; protected ones never)',
        quotaMb: this.quotaBytes / 1048576,
        totalBytes: total,
      });
    }
    if (total > this.quotaBytes)
      this.log.warn('capture.quota_exceeded', {
        totalBytes: total,
        quotaMb: this.quotaBytes / 1048576,
        reason: 'protected captures exceed the quota; nothing protected is evicted',
      });
    await fsyncPath(this.dir).catch(() => {});
  }

  /** Whether a capture is protected (saved by a curator, or from before protection existed). */
  async isProtected(id: string): Promise<boolean> {
    await this.init();
    const e = this.index.get(id);
    if (e) return e.protected;
    return !(await this.markedVisitor(id));
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
    const s: CaptureSummary = { id, createdAt, bytes, protected: this.index.get(id)?.protected ?? !(await this.markedVisitor(id)) };
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

  /** Deletes a capture. A protected one only when `curator` is true (else CaptureProtectedError). */
  async remove(id: string, curator = true): Promise<void> {
    await this.init();
    return this.serial(async () => {
      if (!isCaptureId(id)) throw new CaptureNotFoundError('no such capture');
      const dir = path.join(this.dir, id);
      try {
        await fs.access(dir);
      } catch {
        throw new CaptureNotFoundError('no such capture');
      }
      const wasProtected = this.index.get(id)?.protected ?? !(await this.markedVisitor(id));
      if (wasProtected && !curator) throw new CaptureProtectedError();
      // Rename first so a crash mid-delete leaves a temp dir (cleaned at start), never half a capture.
      const doomed = path.join(this.dir, `${TMP_PREFIX}del-${id}`);
      await fs.rename(dir, doomed);
      await fsyncPath(this.dir).catch(() => {});
      await fs.rm(doomed, { recursive: true, force: true });
      await fs.rm(path.join(this.visitorsDir, id), { force: true });
      this.index.delete(id);
      if (wasProtected) this.refusing = false; // room may have been made: the next visitor save tries again
      this.log.info('capture.deleted', { id, protected: wasProtected });
    });
  }
}
