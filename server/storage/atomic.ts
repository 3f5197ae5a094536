// Crash-safe file writes: write into a temporary name in the same directory, fsync the data,
// rename over the final name, fsync the directory so the rename itself survives a power cut.
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

/** Error codes that mean "no room left": the disk or the user's quota. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Thrown when a save fails because the disk is full. The message is meant for the person at the kiosk. */
export class DiskFullError extends Error {
  readonly code = 'disk-full';
  constructor(what: string, cause?: unknown) {
    super(`The disk is full: ${what} was not saved. Delete old captures or free space on the device; the live view continues.`);
    this.cause = cause;
  }
}

export async function fsyncPath(p: string): Promise<void> {
  const fh = await fs.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsyncPath for synchronous callers: a file's data, or a folder's entries, reach the disk. */
export function fsyncPathSync(p: string): void {
  const fd = fsSync.openSync(p, 'r');
  try {
    fsSync.fsyncSync(fd);
  } finally {
    fsSync.closeSync(fd);
  }
}

/** Fsyncs every file and folder below `dir`, then `dir` itself: a finished folder before it is renamed into place. */
export function fsyncTreeSync(dir: string): void {
  for (const e of fsSync.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) fsyncTreeSync(p);
    else fsyncPathSync(p);
  }
  fsyncPathSync(dir);
}

/** Writes `data` to `file` with flush, then fsyncs the handle. */
export async function writeFileSynced(file: string, data: Uint8Array | string): Promise<void> {
  const fh = await fs.open(file, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Atomically replaces `file` with `data` (temp file + fsync + rename + fsync of the directory). */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFileSynced(tmp, data);
    await fs.rename(tmp, file);
    await fsyncPath(dir);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}

/**
 * The same for commands that write synchronously (build-engine, campaign reports): a temporary
 * sibling, fsync, rename; a reader sees the old file or the new one, never half.
 */
export function writeFileAtomicSync(file: string, data: Uint8Array | string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  fsSync.writeFileSync(tmp, data);
  fsyncPathSync(tmp);
  fsSync.renameSync(tmp, file);
}
