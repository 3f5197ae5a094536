// A bad config value stops the daemon at once: exit code 78 (EX_CONFIG, which crackscope.service
// does not restart on) and one line naming the key, the value and what is allowed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { need } from './helpers/need.js';

const ROOT = path.resolve(__dirname, '..');
const MAIN = path.join(ROOT, 'dist/server/cli/main.js');

function serve(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CRACKSCOPE_') && k !== 'NOTIFY_SOCKET'));
  const r = spawnSync(process.execPath, [MAIN, 'serve', ...args], { cwd: ROOT, env: { ...clean, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderrLines: r.stderr.split('\n').filter((l) => l.trim() !== '') };
}

describe.skipIf(!need('the build (dist/server/cli/main.js)', fs.existsSync(MAIN), 'npm run build'))('bad config: exit 78 and one line naming the key', () => {
  it('a bad flag value', () => {
    const r = serve(['--port', '99999']);
    expect(r.code).toBe(78);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toMatch(/\bport\b.*99999.*0\.\.65535/);
  });

  it('a bad value from the environment file (CRACKSCOPE_*)', () => {
    const r = serve([], { CRACKSCOPE_SOURCE_STALL_MS: 'soon' });
    expect(r.code).toBe(78);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toMatch(/sourceStallMs.*CRACKSCOPE_SOURCE_STALL_MS.*"soon"/);
  });

  it('an unknown provider name', () => {
    const r = serve([], { CRACKSCOPE_PROVIDERS: 'tensorrt,gpu' });
    expect(r.code).toBe(78);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toMatch(/providers.*tensorrt,gpu/);
  });

  it('an unknown key in a config file', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cs-cfg-')), 'config.json');
    fs.writeFileSync(file, JSON.stringify({ prot: 8080 }));
    const r = serve(['--config', file]);
    expect(r.code).toBe(78);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toMatch(/\bprot\b.*not a config key/);
  });
});
