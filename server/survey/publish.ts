// A survey's last step: the finished folder made durable and put in place in one rename. Every
// file and folder is fsynced, an older survey of the same name is moved aside and removed only
// after the new one is in place, and the parent folder is fsynced so the rename survives a power cut.
import fs from 'node:fs';
import { fsyncPathSync, fsyncTreeSync } from '../storage/atomic.js';

/** Renames `work` (a sibling inside `parent`) to `finalDir`, durably, replacing what was there. */
export function publishFolder(work: string, finalDir: string, parent: string): void {
  fsyncTreeSync(work);
  let old: string | null = null;
  if (fs.existsSync(finalDir)) {
    old = `${work}.old`;
    fs.renameSync(finalDir, old);
  }
  fs.renameSync(work, finalDir);
  fsyncPathSync(parent);
  if (old) fs.rmSync(old, { recursive: true, force: true });
}
