import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseArgs } from '../server/config/load.js';
import { envName, flagName } from '../server/config/schema.js';

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.source).toBe('demo://');
    expect(c.listen).toBe('127.0.0.1');
    expect(c.port).toBe(8080);
    expect(c.providers).toEqual(['tensorrt', 'cuda', 'webgpu', 'cpu']);
  });

  it('layers defaults < file < environment < flags', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cs-')), 'c.json');
    fs.writeFileSync(file, JSON.stringify({ port: 9001, fps: 5, source: 'test://' }));
    const { flags } = parseArgs(['--port', '9003']);
    const c = loadConfig({ configFile: file, flags, env: { CRACKSCOPE_PORT: '9002', CRACKSCOPE_FPS: '7' } });
    expect(c.port).toBe(9003);
    expect(c.fps).toBe(7);
    expect(c.source).toBe('test://');
  });

  it('names the key, the value and what is allowed in one line', () => {
    const bad = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).exitCode).toBe(78);
        expect((err as Error).message).not.toContain('\n');
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    expect(bad(() => loadConfig({ env: { CRACKSCOPE_PORT: '70000' } }))).toMatch(/port \(CRACKSCOPE_PORT\) = "70000" is not allowed; expected an integer 0..65535/);
    expect(bad(() => loadConfig({ flags: parseArgs(['--providers', 'cpu,tpu']).flags }))).toMatch(/providers \(--providers\).*tensorrt, cuda, webgpu, cpu/);
    expect(bad(() => loadConfig({ env: { CRACKSCOPE_SOURCE: 'gopher://x' } }))).toMatch(/source/);
    expect(bad(() => parseArgs(['--prot', '1']))).toMatch(/unknown option --prot/);
    expect(bad(() => loadConfig({ env: { CRACKSCOPE_ADMIN_TOKEN: 'short' } }))).toMatch(/adminToken.*at least 16/);
  });

  it('maps keys to environment names and flags', () => {
    expect(envName('sourceStallMs')).toBe('CRACKSCOPE_SOURCE_STALL_MS');
    expect(flagName('sourceStallMs')).toBe('--source-stall-ms');
  });
});
