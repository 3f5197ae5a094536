// `crackscope soak`, short: the daemon as a child with viewers, /metrics read back through the
// Prometheus text parser, the result as the last JSON line, a plain progress line in a pipe.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { need } from './helpers/need.js';

const ROOT = path.resolve(__dirname, '..');
const MAIN = path.join(ROOT, 'dist/server/cli/main.js');

describe.skipIf(!need('the build (dist/server/cli/main.js)', fs.existsSync(MAIN), 'npm run build'))('crackscope soak', () => {
  it('a 12-second soak on test://: the daemon stays up, serves, samples its metrics and stops cleanly', () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CRACKSCOPE_') && k !== 'NOTIFY_SOCKET'));
    const r = spawnSync(process.execPath, [MAIN, 'soak', '--minutes', '0.2', '--clients', '2', '--source', 'test://ball', '--json', '--', '--fps', '8'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(result.ok, r.stderr).toBe(true);
    expect(r.status).toBe(0);
    expect(result.samples).toBeGreaterThanOrEqual(2);
    expect(result.rss_mb_start).toBeGreaterThan(20);
    expect(result.handles_start).toBeGreaterThan(0);
    expect(result.frames_processed).toBeGreaterThan(10);
    expect(result.client_frames.length).toBe(2);
    expect(result.crashed).toBe(false);
    expect(r.stderr).toMatch(/^soak: daemon pid \d+/m);
    expect(r.stderr).not.toMatch(/\x1b\[/); // not a terminal: no bar, no escapes
  }, 150_000);

  it('a bad option value is a usage error', () => {
    const r = spawnSync(process.execPath, [MAIN, 'soak', '--minutes', '0'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(64);
    expect(r.stderr).toMatch(/--minutes.*expected a number in \(0, 1440\]/);
  });
});
