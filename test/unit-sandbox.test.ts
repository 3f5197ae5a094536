// The daemon under crackscope.service's own filesystem restrictions, on demo://, must serve frames.
//
// systemd is not PID 1 here, so the test rebuilds what ProtectSystem=strict + PrivateTmp=no +
// StateDirectory/CacheDirectory/RuntimeDirectory do, with `unshare -m` (as root): every mount
// read-only (the host's /tmp included) except /dev, /proc and /sys, and only the unit's own
// directories writable. The daemon gets the unit's Environment= lines, with the unit's directory
// paths (/var/lib/crackscope, /var/cache/crackscope, /run/crackscope) mapped to temp folders —
// and a directory the unit does not declare stays read-only. With the unit as it was before issue
// 17 (no RuntimeDirectory, no TMPDIR), demo:// wrote its sequence to the read-only /tmp and never
// produced a frame; this test fails on that unit (checked by the second case, which runs the
// same daemon without the unit's TMPDIR and expects "read-only file system").
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collectFrames, MAIN, readDaemonLog, ROOT } from './helpers/daemon.js';

const UNIT = path.join(ROOT, 'systemd', 'crackscope.service');
const canSandbox = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0;

/** The unit's directives (last value wins, Environment= accumulates). */
function unit() {
  const text = fs.readFileSync(UNIT, 'utf8');
  const all = (k: string) => [...text.matchAll(new RegExp(`^${k}=(.*)$`, 'gm'))].map((m) => m[1].trim());
  const env: Record<string, string> = {};
  for (const line of all('Environment')) for (const [, k, v] of line.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)) env[k] = v;
  return { all, env, one: (k: string) => all(k).at(-1) };
}

interface Sandboxed {
  logs: Record<string, any>[];
  port: Promise<number>;
  stop(): Promise<void>;
}

/** Runs `serve` under the unit's filesystem view. `dropEnv` leaves out some of the unit's Environment= keys. */
function runSandboxed(tmp: string, dropEnv: string[] = []): Sandboxed {
  const u = unit();
  expect(u.one('ProtectSystem')).toBe('strict');
  expect(u.one('PrivateTmp') ?? 'no').toBe('no'); // the host's /tmp, read-only
  // the unit's writable directories, mapped to folders of this test
  const map: [string, string][] = [];
  for (const [key, base] of [
    ['StateDirectory', '/var/lib'],
    ['CacheDirectory', '/var/cache'],
    ['RuntimeDirectory', '/run'],
  ] as const) {
    for (const name of (u.one(key) ?? '').split(/\s+/).filter(Boolean)) {
      const dir = path.join(tmp, key, name);
      fs.mkdirSync(dir, { recursive: true });
      map.push([`${base}/${name}`, dir]);
    }
  }
  const remap = (v: string) => map.reduce((s, [from, to]) => (s === from || s.startsWith(`${from}/`) ? to + s.slice(from.length) : s), v);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const [k, v] of Object.entries(u.env)) if (!dropEnv.includes(k)) env[k] = remap(v);
  const state = map.find(([from]) => from.startsWith('/var/lib/'))?.[1];
  expect(state, 'the unit declares a StateDirectory').toBeTruthy();
  env.CRACKSCOPE_DATA_DIR = state!;
  // mount script: everything read-only but the API filesystems, then the unit's directories writable
  const writable = map.map(([, to]) => to);
  const script = [
    'set -e',
    'mount --make-rprivate /',
    `for m in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do case "$m" in /dev|/dev/*|/proc|/proc/*|/sys|/sys/*) ;; *) mount -o remount,bind,ro "$m" 2>/dev/null || true ;; esac; done`,
    ...writable.map((d) => `mount --bind '${d}' '${d}' && mount -o remount,bind,rw '${d}'`),
    // the sandbox is real: /tmp and the checkout are read-only now
    `if touch /tmp/.cs-sandbox-probe 2>/dev/null; then echo "sandbox: /tmp is writable" >&2; exit 99; fi`,
    `exec "$0" "$@"`,
  ].join('\n');
  const child = spawn(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', script, process.execPath, MAIN, 'serve', '--source', 'demo://', '--port', '0', '--fps', '10'],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: Record<string, any>[] = [];
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const port = readDaemonLog(child, { logs, stderr: () => err });
  port.catch(() => undefined);
  return {
    logs,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

describe.skipIf(!canSandbox)("daemon under crackscope.service's filesystem restrictions", () => {
  let running: Sandboxed | undefined;
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cs-sandbox-'));
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  it('demo:// serves frames and /healthz says live, with only the unit directories writable', async () => {
    running = runSandboxed(tmp());
    const port = await running.port;
    const { hello, frames } = await collectFrames(port, 3, 30_000);
    expect(hello.type).toBe('hello');
    expect(frames.length).toBeGreaterThanOrEqual(3);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.json());
    expect(health.source).toBe('demo://');
    expect(running.logs.filter((l) => l.event === 'source.down')).toEqual([]);
  }, 90_000);

  it('the same sandbox without the unit TMPDIR cannot open demo:// (what the old unit did)', async () => {
    running = runSandboxed(tmp(), ['TMPDIR']);
    await running.port;
    const deadline = Date.now() + 20_000;
    let down: Record<string, any> | undefined;
    while (!down && Date.now() < deadline) {
      down = running.logs.find((l) => l.event === 'source.down');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(down?.reason).toMatch(/read-only file system|EROFS/i);
  }, 60_000);
});
