// Every bad flag value is a usage error, caught when the command line is parsed (commands/parse.ts):
// exit 64, one line naming the flag and what it takes, then the pointer to --help; nothing of the
// command runs. A config key's bad value stays a config error (78), as does what only the config
// can answer (a language without a catalogue in kioskLanguages).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCommand, type CommandSpec } from '../server/cli/program.js';
import { COMMANDS } from '../server/cli/commands/index.js';
import { ConfigError } from '../server/config/load.js';
import { need } from './helpers/need.js';

const ROOT = path.resolve(__dirname, '..');
const MAIN = path.join(ROOT, 'dist/server/cli/main.js');
const spec = (name: string): CommandSpec<any> => COMMANDS.find((c) => c.name === name)!;
const NO_MODELS = ['--models-dir', '/nonexistent/models']; // a check that slipped past parsing would stop on the model (78), not run

/** Runs one command as `crackscope <name> <argv…>` would, with what it writes on stderr. */
async function run(name: string, argv: string[]): Promise<{ code: number; stderr: string[] }> {
  const written: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    const code = await runCommand(spec(name), argv);
    return {
      code,
      stderr: written
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== ''),
    };
  } finally {
    vi.restoreAllMocks();
  }
}

afterEach(() => vi.restoreAllMocks());

// [command, its words, the flag the message must name]
const BAD: [string, string[], string][] = [
  ['infer', ['wall.jpg', '--threshold', '2', ...NO_MODELS], '--threshold'],
  ['infer', ['wall.jpg', '--mm-per-px', '-1', ...NO_MODELS], '--mm-per-px'],
  ['infer', ['wall.jpg', '--lang', 'English', ...NO_MODELS], '--lang'],
  ['survey', ['wall.jpg', '--tile', '100', ...NO_MODELS], '--tile'],
  ['survey', ['wall.jpg', '--margin', '33', ...NO_MODELS], '--margin'],
  ['survey', ['wall.jpg', '--min-length-px', 'long', ...NO_MODELS], '--min-length-px'],
  ['survey', ['wall.jpg', '--width-classes', 'a:1,b:0.5,c', ...NO_MODELS], '--width-classes'],
  ['survey', ['wall.jpg', '--threshold', '1', ...NO_MODELS], '--threshold'],
  ['survey-diff', ['a', 'b', '--tolerance-px', '0'], '--tolerance-px'],
  ['survey-diff', ['a', 'b', '--points', '/nonexistent/points.json'], '--points'],
  ['campaign', ['add', 'walls', 'photos/', '--redis', 'redis://127.0.0.1:1', '--tile', '96', ...NO_MODELS], '--tile'],
  ['campaign', ['add', 'walls', 'photos/', '--redis', 'redis://127.0.0.1:1', '--mm-per-px', '0', ...NO_MODELS], '--mm-per-px'],
  ['campaign', ['report', 'walls', '--redis', 'redis://127.0.0.1:1', '--lang', 'fr_FR'], '--lang'],
  ['worker', ['--redis', 'redis://127.0.0.1:1', '--metrics-listen', 'everywhere'], '--metrics-listen'],
  ['worker', ['--redis', 'redis://127.0.0.1:1', '--concurrency', '0'], '--concurrency'],
  ['build-engine', ['--min-iou', '2', ...NO_MODELS], '--min-iou'],
  ['build-engine', ['--skip-trtexec', '--engine', '/nonexistent/model.engine', ...NO_MODELS], '--engine'],
  ['compare', ['a', 'b', 'images/', '--max-f1-drop', '1.5'], '--max-f1-drop'],
  ['compare', ['a', 'b', 'images/', '--providers-b', 'gpu'], '--providers-b'],
  ['bench', ['--daemon', '/nonexistent/main.js', ...NO_MODELS], '--daemon'],
  ['bench', ['--frames', '2', ...NO_MODELS], '--frames'],
  ['soak', ['--source', 'camera one'], '--source'],
  ['soak', ['--minutes', '0'], '--minutes'],
  ['doctor', ['--probe-ms', '5'], '--probe-ms'],
];

describe('bad flag values: exit 64 and one line naming the flag', () => {
  it.each(BAD)('crackscope %s %j', async (name, argv, flag) => {
    const r = await run(name, argv);
    expect(r.code, r.stderr.join('\n')).toBe(64);
    expect(r.stderr).toHaveLength(2);
    expect(r.stderr[0]).toMatch(new RegExp(`^crackscope ${name}: error: option '${flag} <[^>]+>' argument '.*' is invalid\\. \\S`));
    expect(r.stderr[1]).toBe(`(see 'crackscope ${name} --help')`);
  });

  it('a config key with a bad value is still a config error (78 from main.ts)', async () => {
    await expect(run('infer', ['wall.jpg', '--port', 'many'])).rejects.toThrow(ConfigError);
    await expect(run('survey', ['wall.jpg', '--fps', 'fast'])).rejects.toThrow(/config error: fps/);
  });
});

describe.skipIf(!need('the build (dist/server/cli/main.js)', fs.existsSync(MAIN), 'npm run build'))('through the bin', () => {
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, lines: r.stderr.split('\n').filter((l) => l.trim() !== '') };
  };

  it('a bad --tile, --tolerance-px or --min-iou: 64, the flag named on the first line', () => {
    for (const [args, flag] of [
      [['survey', 'wall.jpg', '--tile', '100'], '--tile'],
      [['survey-diff', 'a', 'b', '--tolerance-px', '-2'], '--tolerance-px'],
      [['build-engine', '--min-iou', 'x'], '--min-iou'],
    ] as [string[], string][]) {
      const r = cli(args);
      expect(r.code, r.lines.join('\n')).toBe(64);
      expect(r.lines).toHaveLength(2);
      expect(r.lines[0]).toContain(`option '${flag} `);
    }
  });

  it('a well-formed --lang without a catalogue, or a bad config key: 78, one line', () => {
    for (const args of [
      ['infer', 'wall.jpg', '--lang', 'xx'],
      ['survey', 'wall.jpg', '--port', 'many'],
    ]) {
      const r = cli(args);
      expect(r.code, r.lines.join('\n')).toBe(78);
      expect(r.lines).toHaveLength(1);
    }
  });
});
