// A real redis-server of the test's own: a free loopback port, its folder in a temp dir,
// append-only file on (fsync always, so a restart keeps every write), no RDB snapshots.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './daemon.js';

export const haveRedis = () => fs.existsSync('/usr/bin/redis-server') || !!process.env.REDIS_SERVER;

export interface TestRedis {
  port: number;
  url: string;
  dir: string;
  child: ChildProcess;
  /** SIGTERM (Redis writes its AOF and exits), then the same server again on the same port and folder */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs = 10_000) {
  const t0 = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-redis-'));
  const bin = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
  const launch = () => {
    const child = spawn(
      bin,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--logfile',
        path.join(dir, 'redis.log'),
      ],
      { stdio: 'ignore' },
    );
    return child;
  };
  const r: TestRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    child: launch(),
    async restart() {
      await r.stop();
      r.child = launch();
      await waitForPort(port);
    },
    stop() {
      const c = r.child;
      if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
      return new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      });
    },
  };
  await waitForPort(port);
  return r;
}
