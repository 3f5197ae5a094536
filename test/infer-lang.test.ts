// `crackscope infer --lang` (issue 22): the per-image lines in the language asked for, from the
// kiosk's catalogues ("report.infer_*"), numbers in that language's format (French decimal
// commas), plural forms by the language's rules (Arabic: no cracks / one / two / few / many); the
// JSON reports are the same whatever the language; an unknown language is exit 78.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/daemon.js';
import { writeTinyModel } from './helpers/tiny-model.js';
import { wavyCracks, writeBrightCrackImage } from './helpers/synthetic-wall.js';

let tmp: string, modelsDir: string, images: string;
const infer = (lang: string[], out: string) =>
  runCli(['infer', images, '--out', out, '--models-dir', modelsDir, '--model', 'tiny', '--providers', 'cpu', ...lang], { timeoutMs: 120_000 });
const AR_CRACKS: Record<string, (n: number) => string> = {
  zero: () => 'لا شقوق',
  one: () => 'شق واحد',
  two: () => 'شقان',
  few: (n) => `${n} شقوق`,
  many: (n) => `${n} شقًا`,
  other: (n) => `${n} شق`,
};

describe('infer --lang', () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-infer-lang-'));
    modelsDir = path.join(tmp, 'models');
    writeTinyModel(modelsDir, 'tiny', { dynamic: true, mode: 'max', width: 640, height: 384 });
    images = path.join(tmp, 'images');
    fs.mkdirSync(images);
    await writeBrightCrackImage(path.join(images, 'a-wall.png'), 640, 480, wavyCracks(640, 480, 3, 7, [5, 7]));
    await writeBrightCrackImage(path.join(images, 'b-clean.png'), 320, 240, []);
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('English by default; French words and decimal commas; Arabic plural forms; the JSON reports unchanged', async () => {
    const runs = await Promise.all(
      [[], ['--lang', 'fr'], ['--lang', 'ar']].map(async (l, i) => {
        const out = path.join(tmp, `out${i}`);
        const r = await infer(l, out);
        expect(r.code, r.stderr).toBe(0);
        const lines = r.stdout.trim().split('\n');
        expect(lines).toHaveLength(2);
        return { lines, report: JSON.parse(fs.readFileSync(path.join(out, 'a-wall.json'), 'utf8')) };
      }),
    );
    const [en, fr, ar] = runs;
    const { timings_ms: _a, ...enReport } = en.report;
    const { timings_ms: _b, ...frReport } = fr.report;
    expect(frReport).toEqual(enReport);

    const m = en.lines[0].match(/a-wall\.png: (\d+) cracks?, (\d+) crack px, length (\d+\.\d) px, width max (\d+\.\d) px mean (\d+\.\d) px {2}\[/);
    expect(m, en.lines[0]).not.toBeNull();
    const [, n, pixels, length, max, mean] = m!;
    expect(Number(n)).toBe(en.report.crack_count);
    expect(Number(n)).toBeGreaterThan(2);
    expect(en.lines[1]).toMatch(/b-clean\.png: 0 cracks, 0 crack px/);

    const c = (v: string) => v.replace('.', ',');
    expect(fr.lines[0]).toContain(
      `a-wall.png : ${n} fissures, ${pixels} px de fissure, longueur ${c(length)} px, largeur max. ${c(max)} px, moyenne ${c(mean)} px  [`,
    );
    expect(fr.lines[1]).toContain('b-clean.png : 0 fissure, 0 px de fissure'); // French: 0 takes the singular

    const cat = new Intl.PluralRules('ar').select(Number(n));
    expect(ar.lines[0]).toContain(`a-wall.png: ${AR_CRACKS[cat](Number(n))}، ${pixels} بكسل شقوق، الطول ${length} بكسل`);
    expect(ar.lines[1]).toContain('b-clean.png: لا شقوق، 0 بكسل شقوق');
  }, 240_000);

  it('a language without a catalogue stops with one line and exit 78, before any image', async () => {
    const r = await infer(['--lang', 'xx'], path.join(tmp, 'bad'));
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/--lang = "xx" has no catalogue; expected one of .*ar, en, fr, ja, zh/);
    expect(fs.existsSync(path.join(tmp, 'bad'))).toBe(false);
  }, 60_000);
});
