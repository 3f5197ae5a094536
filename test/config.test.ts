import { describe, expect, it } from 'vitest';
import { need } from './helpers/need.js';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, redactConfig } from '../server/config/load.js';
import { configFileJsonSchema, envName, flagName } from '../server/config/schema.js';

const MAIN = path.resolve(__dirname, '..', 'dist/server/cli/main.js');
const cli = (args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, CRACKSCOPE_CONFIG: '' } });

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.source).toBe('demo://');
    expect(c.listen).toBe('127.0.0.1');
    expect(c.port).toBe(8080);
    expect(c.providers).toEqual(['tensorrt', 'cuda', 'webgpu', 'cpu']);
    expect(c.quiet).toBe(false);
    expect(c.engineDir).toBe(path.join(c.dataDir, 'engines'));
  });

  it('layers defaults < file < environment < flags', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cs-')), 'c.json');
    fs.writeFileSync(file, JSON.stringify({ $schema: './schema.json', port: 9001, fps: 5, source: 'test://', dataDir: '/srv/cs' }));
    const c = loadConfig({
      configFile: file,
      flags: { port: '9003', quiet: true },
      env: { CRACKSCOPE_PORT: '9002', CRACKSCOPE_FPS: '7', CRACKSCOPE_PROVIDERS: 'webgpu, cpu' },
    });
    expect(c.port).toBe(9003);
    expect(c.fps).toBe(7);
    expect(c.source).toBe('test://');
    expect(c.providers).toEqual(['webgpu', 'cpu']);
    expect(c.quiet).toBe(true);
    expect(c.engineDir).toBe('/srv/cs/engines'); // follows dataDir unless set
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
    expect(bad(() => loadConfig({ env: { CRACKSCOPE_PORT: '70000' } }))).toMatch(
      /port \(CRACKSCOPE_PORT\) = "70000" is not allowed; expected an integer 0..65535/,
    );
    expect(bad(() => loadConfig({ env: { CRACKSCOPE_PORT: '80.5' } }))).toMatch(/port \(CRACKSCOPE_PORT\) = "80.5"/);
    expect(bad(() => loadConfig({ flags: { providers: 'cpu,tpu' } }))).toMatch(/providers \(--providers\).*tensorrt, cuda, webgpu, cpu/);
    expect(bad(() => loadConfig({ env: { CRACKSCOPE_SOURCE: 'gopher://x' } }))).toMatch(/source/);
    expect(bad(() => loadConfig({ env: { CRACKSCOPE_ADMIN_TOKEN: 'short' } }))).toMatch(/adminToken.*at least 16/);
    expect(bad(() => loadConfig({ env: { CRACKSCOPE_QUIET: 'maybe' } }))).toMatch(/quiet \(CRACKSCOPE_QUIET\) = "maybe".*true or false/);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cs-')), 'c.json');
    fs.writeFileSync(file, JSON.stringify({ fps: 'fast' }));
    expect(bad(() => loadConfig({ configFile: file, env: {} }))).toMatch(/fps \(.*c\.json\) = "fast" is not allowed; expected a number 0.1..120/);
    // files written before the schema was published may hold numbers as text: still read
    fs.writeFileSync(file, JSON.stringify({ fps: '12.5', providers: 'cpu' }));
    expect(loadConfig({ configFile: file, env: {} })).toMatchObject({ fps: 12.5, providers: ['cpu'] });
  });

  it('maps keys to environment names and flags', () => {
    expect(envName('sourceStallMs')).toBe('CRACKSCOPE_SOURCE_STALL_MS');
    expect(flagName('sourceStallMs')).toBe('--source-stall-ms');
  });

  it('masks secrets: the admin token and a password in the source URI', () => {
    const c = loadConfig({ env: { CRACKSCOPE_ADMIN_TOKEN: 'x'.repeat(20), CRACKSCOPE_SOURCE: 'rtsp://cam:hunter2@10.0.0.5/live' } });
    const shown = JSON.stringify(redactConfig(c));
    expect(shown).not.toContain('x'.repeat(20));
    expect(shown).not.toContain('hunter2');
    expect(redactConfig(c)).toMatchObject({ adminToken: '(set)', source: 'rtsp://***@10.0.0.5/live' });
  });

  it('the JSON Schema a config file editor gets: every key, its type, range and default', () => {
    const s = configFileJsonSchema() as { type: string; additionalProperties: boolean; properties: Record<string, any>; required?: string[] };
    expect(s.type).toBe('object');
    expect(s.additionalProperties).toBe(false);
    expect(s.required ?? []).toEqual([]);
    expect(s.properties.port).toMatchObject({ type: 'integer', minimum: 0, maximum: 65535, default: 8080 });
    expect(s.properties.providers.items.enum).toEqual(['tensorrt', 'cuda', 'webgpu', 'cpu']);
    expect(s.properties.maskEncoding.enum).toEqual(['raw', 'deflate']);
    expect(Object.keys(s.properties)).toEqual(expect.arrayContaining(['source', 'listen', 'adminToken', 'sourceStallMs', '$schema']));
  });
});

describe.skipIf(!need('the build (dist/server/cli/main.js)', fs.existsSync(MAIN), 'npm run build'))('the command line', () => {
  it('an unknown flag or command is a usage error: exit 64, naming it', () => {
    const r = cli(['serve', '--prot', '1']);
    expect(r.status).toBe(64);
    expect(r.stderr).toMatch(/crackscope serve: error: unknown option '--prot'/);
    expect(r.stderr).toMatch(/--port/); // the suggestion
    expect(cli(['serve', 'now']).status).toBe(64);
    expect(cli(['survey-the-moon']).status).toBe(64);
    expect(cli([]).status).toBe(64);
    expect(cli(['bench', '--frames', 'lots']).status).toBe(64);
  });

  it('per-command help lists the config flags with their variables; exit 0', () => {
    const r = cli(['serve', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--source-stall-ms <value>[\s\S]*CRACKSCOPE_SOURCE_STALL_MS/);
    expect(r.stdout).toMatch(/--quiet \[bool\]/);
    const top = cli(['--help']);
    expect(top.status).toBe(0);
    for (const c of ['serve', 'bench', 'infer', 'build-engine', 'soak', 'config']) expect(top.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    expect(cli(['help', 'infer']).stdout).toMatch(/--mm-per-px <x>/);
    expect(cli(['help']).status).toBe(0);
    expect(cli(['--version']).stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', 'package.json'), 'utf8')).version);
  });

  it('crackscope config prints the effective config, secrets masked; --schema the JSON Schema', () => {
    const r = cli(['config', '--port', '9100', '--admin-token', 'a-long-enough-secret-token']);
    expect(r.status).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c.port).toBe(9100);
    expect(c.adminToken).toBe('(set)');
    expect(r.stdout).not.toContain('a-long-enough-secret-token');
    const s = cli(['config', '--schema']);
    expect(s.status).toBe(0);
    expect(JSON.parse(s.stdout).properties.sourceStallMs).toMatchObject({ type: 'integer', minimum: 200, default: 5000 });
    expect(cli(['config', '--port', 'x']).status).toBe(78);
  });
});
