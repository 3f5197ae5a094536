// Grows a child process's stdout pipe (Linux F_SETPIPE_SZ) so that a whole raw frame fits in it.
// With the default 64 KiB pipe a paced capture process blocks after the first 64 KiB of the next
// frame, and the frame then crosses in ~12 round trips between gst-launch and Node after the
// pipeline asks for it (≈1.5-2 ms on a 2-core board). With room for the whole frame the capture
// process writes it while the model runs, and reading it is a few back-to-back copies.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const F_SETPIPE_SZ = 1031;
let fcntl: ((fd: number, cmd: number, arg: number) => number) | null | undefined;

function loadFcntl() {
  if (fcntl !== undefined) return fcntl;
  try {
    const koffi = require('koffi');
    fcntl = koffi.load('libc.so.6').func('int fcntl(int, int, int)');
  } catch {
    fcntl = null;
  }
  return fcntl;
}

function maxPipeBytes(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/fs/pipe-max-size', 'utf8').trim()) || 1 << 20;
  } catch {
    return 1 << 20;
  }
}

/** Best effort: returns the new pipe size in bytes, or 0 where it could not be changed. */
export function growPipe(stream: unknown, bytes: number): number {
  if (process.platform !== 'linux') return 0;
  const fd = (stream as { _handle?: { fd?: number } } | null)?._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return 0;
  const f = loadFcntl();
  if (!f) return 0;
  const want = Math.min(maxPipeBytes(), bytes);
  const got = f(fd, F_SETPIPE_SZ, want);
  return got > 0 ? got : 0;
}
