// `crackscope survey --lang` (issue 22): the HTML (and PDF) report in the language asked for, from
// the kiosk's catalogues (their "report" section), numbers in that language's format, right to
// left for Arabic; English stays the default; a language without a catalogue is a config error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/daemon.js';
import { writeTinyModel } from './helpers/tiny-model.js';
import { wavyCracks, writeBrightCrackImage } from './helpers/synthetic-wall.js';

let tmp: string, modelsDir: string, wall: string;
const survey = (lang: string[], out: string) =>
  runCli(['survey', wall, '--out', out, '--models-dir', modelsDir, '--model', 'tiny', '--providers', 'cpu', '--mm-per-px', '0.04', '--no-pdf', ...lang], {
    timeoutMs: 120_000,
  });
const report = (out: string) => fs.readFileSync(path.join(out, 'wall', 'report.html'), 'utf8');

describe('survey --lang', () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-survey-lang-'));
    modelsDir = path.join(tmp, 'models');
    writeTinyModel(modelsDir, 'tiny', { dynamic: true, mode: 'max', width: 640, height: 384 });
    wall = path.join(tmp, 'wall.png');
    await writeBrightCrackImage(wall, 1280, 960, wavyCracks(1280, 960, 4, 3, [5, 9]));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes the report in English by default, in French and in Arabic when asked; the figures are the same', async () => {
    const runs = await Promise.all(
      [[], ['--lang', 'fr'], ['--lang', 'ar']].map(async (l, i) => {
        const out = path.join(tmp, `out${i}`);
        const r = await survey(l, out);
        expect(r.code, r.stderr).toBe(0);
        return { html: report(out), json: JSON.parse(fs.readFileSync(path.join(out, 'wall', 'survey.json'), 'utf8')) };
      }),
    );
    const [en, fr, ar] = runs;
    expect(en.json.totals).toEqual(fr.json.totals);
    expect(en.html).toContain('<html lang="en" dir="ltr">');
    expect(en.html).toContain('<h2>Crack map</h2>');
    expect(en.html).toContain('0.04 mm per image pixel');
    expect(en.html).toContain(`${en.json.totals.cracks} cracks, total length`);

    expect(fr.html).toContain('<html lang="fr" dir="ltr">');
    expect(fr.html).toContain('<title>Relevé de fissures : wall.png</title>');
    expect(fr.html).toContain('<h2>Carte des fissures</h2>');
    expect(fr.html).toContain('0.04 mm par pixel de l’image');
    expect(fr.html).toContain(`${fr.json.totals.cracks} fissures, longueur totale`);
    // French decimals: a comma, e.g. the table's lengths
    const firstLen = fr.json.cracks[0].length_px as number;
    expect(fr.html).toContain(`<td>${firstLen.toFixed(1).replace('.', ',')}</td>`);
    expect(fr.html).not.toContain('Crack map');

    expect(ar.html).toContain('<html lang="ar" dir="rtl">');
    expect(ar.html).toContain('<h2>خريطة الشقوق</h2>');
    expect(ar.html).toContain('ملم لكل بكسل من الصورة');
  }, 300_000);

  it('a language without a catalogue stops with one line and exit 78', async () => {
    const r = await survey(['--lang', 'xx'], path.join(tmp, 'bad'));
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/--lang = "xx" has no catalogue; expected one of .*ar, en, fr, ja, zh/);
    expect(fs.existsSync(path.join(tmp, 'bad', 'wall'))).toBe(false);
  }, 60_000);
});
