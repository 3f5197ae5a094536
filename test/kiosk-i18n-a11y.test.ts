// The kiosk's languages and accessibility (issue 22), in Debian's Chromium against the real daemon.
// Languages: JSON catalogues loaded by i18next; the default is the URL's, else the config's, else
// the browser's, else English; the picker names each language in itself; Arabic lays out right to
// left; the idle reset returns to the default; a catalogue dropped into the configured folder is
// offered. Accessibility: axe-core (WCAG 2.0/2.1/2.2 A and AA rules) over the live view, every panel
// and drawer, the gallery, the survey view and the compare view, in English and Arabic (and
// Chinese): any serious or critical violation fails. Every control is reachable with Tab and named;
// prefers-reduced-motion stops the flick's glide and the offline pulse.
// CRACKSCOPE_SCREENSHOTS=1 writes kiosk/screenshots/lang-<code>.png, one per shipped language.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/daemon.js';
import { ensureBuilt, haveChromium, launchBrowser, openKiosk, ROOT, startDaemon, waitFrames, type Daemon } from './helpers/browser.js';
import { writeTinyModel } from './helpers/tiny-model.js';
import { wavyCracks, writeBrightCrackImage } from './helpers/synthetic-wall.js';

const SHOTS = process.env.CRACKSCOPE_SCREENSHOTS ? path.join(ROOT, 'kiosk', 'screenshots') : fs.mkdtempSync(path.join(os.tmpdir(), 'cs-i18n-shots-'));
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHIPPED = fs
  .readdirSync(path.join(ROOT, 'kiosk', 'locales'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5))
  .sort();
const PIN = '246810';
const log = (msg: string) => process.stdout.write(`[kiosk-i18n-a11y] ${msg}\n`);

let tmp: string, modelsDir: string, dataDir: string, daemon: Daemon, browser: Browser;

const state = (page: Page) => page.evaluate(() => (window as any).__crackscope.state);
async function open(query: string, opts: { locale?: string; width?: number; height?: number; reducedMotion?: 'reduce'; d?: Daemon } = {}) {
  const k = await openKiosk(browser, (opts.d ?? daemon).url, {
    query,
    locale: opts.locale ?? 'en-US',
    width: opts.width ?? 1280,
    height: opts.height ?? 800,
    reducedMotion: opts.reducedMotion,
  });
  await k.page.waitForFunction(() => document.querySelector('#btn-lang-name')?.textContent !== '', null, { timeout: 15_000 });
  return k;
}

/** Freezes and opens the measure drawer until the frozen frame's cracks are listed (a loaded machine can let the frame leave the daemon's ring before it is measured: then again on a newer one). */
async function measureFrozen(page: Page): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await page.click('#btn-measure');
    try {
      await page.waitForFunction(() => (window as any).__crackscope.state.crackCount > 2, null, { timeout: 20_000 });
      return;
    } catch (err) {
      if (attempt >= 2) throw new Error(`measure: ${await page.textContent('#measure-summary')}: ${(err as Error).message}`);
      await page.click('#measure-close');
      await page.evaluate(() => (window as any).__crackscope.backToLive());
      await waitFrames(page, ((await page.evaluate(() => (window as any).__crackscope.stats.framesShown)) as number) + 2);
    }
  }
}

describe.skipIf(!haveChromium())('kiosk languages and accessibility', () => {
  beforeAll(async () => {
    ensureBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-i18n-'));
    modelsDir = path.join(tmp, 'models');
    dataDir = path.join(tmp, 'data');
    writeTinyModel(modelsDir, 'mean', { width: 320, height: 256, mode: 'mean', dynamic: true });
    writeTinyModel(modelsDir, 'max', { width: 320, height: 256, mode: 'max' });
    // a picture with a dozen bright cracks: the tiny model (mask = brightness) finds them, for the
    // measure list; the same picture surveyed, for the survey view
    const img = path.join(tmp, 'wall.png');
    await writeBrightCrackImage(img, 1280, 1024, wavyCracks(1280, 1024, 12, 5, [9, 13, 17]));
    const r = await runCli(
      ['survey', img, '--data-dir', dataDir, '--providers', 'cpu', '--models-dir', modelsDir, '--model', 'mean', '--mm-per-px', '0.1', '--no-pdf'],
      { timeoutMs: 240_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    daemon = await startDaemon({
      source: `file://${img}`,
      modelsDir,
      dataDir,
      extraArgs: ['--model', 'mean', '--compare', 'max', '--fps', '5', '--operator-pin', PIN, '--capture-visitor-interval-s', '0'],
    });
    browser = await launchBrowser();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("the default language: the browser's if there is a catalogue for it, else English; the URL wins", async () => {
    for (const [locale, query, lang, freeze] of [
      ['fr-FR', 'idle=600', 'fr', 'Figer'],
      ['de-DE', 'idle=600', 'en', 'Freeze'], // no German catalogue: English
      ['zh-CN', 'idle=600', 'zh', '冻结'],
      ['fr-CA', 'idle=600', 'fr', 'Figer'], // by base language
      ['fr-FR', 'idle=600&lang=ja', 'ja', '静止'],
    ] as const) {
      const { context, page, errors } = await open(query, { locale });
      expect(await page.getAttribute('html', 'lang'), `${locale} ${query}`).toBe(lang === 'zh' ? 'zh-CN' : lang);
      expect(await page.textContent('#btn-freeze')).toBe(freeze);
      expect(errors).toEqual([]);
      await context.close();
    }
  }, 60_000);

  it('the picker names each language in itself; Arabic lays out right to left; the idle reset returns to the default', async () => {
    // idle 10 s: long enough that a loaded machine cannot reach it between two clicks
    const { context, page } = await open('idle=10', { locale: 'fr-FR' });
    await page.click('#btn-lang');
    expect(await page.getAttribute('#btn-lang', 'aria-expanded')).toBe('true');
    const items = await page.$$eval('#lang-list button', (bs) =>
      bs.map((b) => ({
        code: (b as HTMLElement).dataset.lang,
        name: b.textContent,
        lang: b.getAttribute('lang'),
        dir: b.getAttribute('dir'),
        current: b.getAttribute('aria-current'),
      })),
    );
    expect(items.map((i) => i.code)).toEqual(SHIPPED);
    const byCode = Object.fromEntries(items.map((i) => [i.code, i]));
    expect(byCode.en.name).toBe('English');
    expect(byCode.zh.name).toBe('中文');
    expect(byCode.fr).toMatchObject({ name: 'Français', current: 'true' });
    expect(byCode.ar).toMatchObject({ name: 'العربية', dir: 'rtl', lang: 'ar' });
    expect(byCode.ja.name).toBe('日本語');
    await page.click('#lang-list button[data-lang="ar"]');
    expect(await page.getAttribute('html', 'dir')).toBe('rtl');
    expect(await page.textContent('#btn-freeze')).toBe('تجميد');
    await page.click('#btn-gallery');
    const box = (await page.locator('#gallery').boundingBox())!;
    expect(box.x).toBeLessThan(20); // the drawer opens on the reading side: the left
    const bar = await page.$$eval('#statusbar > span:not(.hidden)', (s) => s.map((e) => (e as HTMLElement).getBoundingClientRect().x));
    expect(bar[0]).toBeGreaterThan(bar[1]); // the status line reads from the right
    // a visitor's choice does not stick: after the idle timeout, the default language again
    await page.waitForFunction(() => document.documentElement.lang === 'fr', null, { timeout: 30_000 });
    expect(await page.getAttribute('html', 'dir')).toBe('ltr');
    expect(await page.isVisible('#gallery')).toBe(false);
    await context.close();
  }, 60_000);

  it('plurals and numbers follow the language (i18next plural rules, Intl number formats)', async () => {
    const { context, page } = await open('idle=600', { locale: 'ar-EG' });
    await waitFrames(page, 2);
    await measureFrozen(page);
    const n = (await state(page)).crackCount as number;
    const summary = (await page.textContent('#measure-summary'))!;
    const arabic = await page.evaluate((k) => new Intl.NumberFormat('ar').format(k), n); // the page's own Intl
    // Arabic: 3–10 take the "few" form (شقوق), 11–99 the "many" form (شقًا)
    expect(summary).toContain(n <= 10 ? `${arabic} شقوق` : n <= 99 ? `${arabic} شقًا` : `${arabic} شق`);
    expect(summary).toMatch(/الطول الإجمالي [\d٠-٩]+ بكسل/); // the unit in Arabic
    await page.click('#btn-lang');
    await page.click('#lang-list button[data-lang="fr"]');
    await expect.poll(() => page.textContent('#measure-summary')).toContain(`${n} fissures`);
    await page.click('#btn-lang');
    await page.click('#lang-list button[data-lang="en"]');
    await expect.poll(() => page.textContent('#measure-summary')).toMatch(new RegExp(`^${n} cracks · Total length \\d+ px`));
    await context.close();
  }, 60_000);

  it('a catalogue dropped into the configured folder is offered; the config names the default; missing keys fall back to English', async () => {
    const folder = path.join(tmp, 'languages');
    fs.mkdirSync(folder);
    fs.copyFileSync(path.join(ROOT, 'kiosk', 'locales', 'en.json'), path.join(folder, 'en.json'));
    fs.writeFileSync(path.join(folder, 'pt-BR.json'), JSON.stringify({ meta: { name: 'Português (Brasil)' }, freeze: 'Congelar', capture: 'Salvar' }));
    fs.writeFileSync(path.join(folder, 'broken.json'), '{ not json');
    // a default without a catalogue stops the service with one line, exit 78
    const bad = await runCli(['serve', '--kiosk-languages', folder, '--kiosk-default-language', 'de', '--port', '0', '--data-dir', path.join(tmp, 'bad')], {
      timeoutMs: 30_000,
    });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toMatch(/kioskDefaultLanguage = "de" has no catalogue in .*; expected one of en, pt-BR/);
    const d = await startDaemon({
      source: 'test://ball',
      modelsDir,
      extraArgs: ['--model', 'mean', '--kiosk-languages', folder, '--kiosk-default-language', 'pt-BR'],
    });
    try {
      expect(d.logs.some((l) => l.event === 'kiosk.language_skipped' && /broken\.json/.test(l.file))).toBe(true);
      const list = await (await fetch(`${d.url}/api/kiosk/languages`)).json();
      expect(list).toEqual({
        default: 'pt-BR',
        languages: [
          { code: 'en', name: 'English', dir: 'ltr' },
          { code: 'pt-BR', name: 'Português (Brasil)', dir: 'ltr' },
        ],
      });
      const { context, page } = await open('idle=600', { locale: 'fr-FR', d }); // config beats the browser
      expect(await page.getAttribute('html', 'lang')).toBe('pt-BR');
      expect(await page.textContent('#btn-freeze')).toBe('Congelar');
      expect(await page.textContent('#btn-measure')).toBe('Measure'); // not in the catalogue: English
      await context.close();
    } finally {
      await d.stop();
    }
  }, 90_000);

  it('axe-core finds no serious or critical WCAG violation in any view, in English, Arabic and Chinese', async () => {
    // two captures in the gallery, one of them a curator's
    for (const h of [{}, { 'x-operator-pin': PIN }] as Record<string, string>[]) {
      const r = await fetch(`${daemon.url}/api/captures`, { method: 'POST', headers: { 'content-type': 'application/json', ...h }, body: '{}' });
      expect(r.status).toBe(201);
    }
    const summary: Record<string, { views: number; violations: Record<string, number>; incomplete: number; passes: number }> = {};
    const bad: string[] = [];
    for (const lang of ['en', 'ar', 'zh']) {
      const { context, page, errors } = await open(`idle=600&lang=${lang}`);
      await waitFrames(page, 2);
      await page.evaluate(AXE);
      const sum = (summary[lang] = { views: 0, violations: {} as Record<string, number>, incomplete: 0, passes: 0 });
      const check = async (view: string) => {
        const res = await page.evaluate(() =>
          (window as any).axe.run(document, {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
            resultTypes: ['violations'],
          }),
        );
        sum.views++;
        sum.incomplete += res.incomplete.length;
        sum.passes += res.passes.length;
        for (const v of res.violations) {
          sum.violations[`${v.id}:${v.impact}`] = (sum.violations[`${v.id}:${v.impact}`] ?? 0) + v.nodes.length;
          if (v.impact === 'serious' || v.impact === 'critical')
            bad.push(
              `${lang} ${view}: ${v.id} (${v.impact}) ${v.nodes
                .slice(0, 3)
                .map((n: any) => `${n.target.join(' ')} ${n.any?.[0]?.message ?? ''}`)
                .join(' | ')}`,
            );
        }
      };
      await check('live');
      await page.click('#btn-overlay');
      await check('overlay panel');
      await page.click('#btn-lang');
      await check('language picker');
      await page.click('#btn-lang');
      await page.click('#btn-models');
      await page.click('#models-list button[data-model="0"]');
      await page.click('#cmp-views button[data-view="diff"]');
      await check('compare view (differences)');
      await page.click('#cmp-views button[data-view="swipe"]');
      await check('compare view (swipe)');
      await page.click('#models-list button[data-model=""]');
      await page.click('#btn-models');
      await measureFrozen(page);
      await page.click('#measure-list li:nth-child(2) button');
      await page.click('#calib-start');
      await check('measure drawer');
      await page.click('#calib-cancel');
      await page.click('#measure-close');
      await page.click('#btn-freeze');
      await page.click('#btn-gallery');
      await page.waitForSelector('#gallery-list .thumb');
      await page.click('#gallery-list .thumb');
      await page.click('#curator-start');
      await check('gallery drawer');
      await page.click('#curator-cancel');
      await page.click('#survey-list button[data-survey="wall"]');
      await page.waitForFunction(() => (window as any).__crackscope.survey.stats.tilesDrawn > 0, null, { timeout: 15_000 });
      await check('survey view');
      await page.click('#survey-close');
      // a 404 here is the measure drawer asking for a frame the daemon's ring had already dropped
      // on a loaded machine (measureFrozen then measures a newer one); anything else is an error
      expect(errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
      await context.close();
    }
    log(`axe-core: ${JSON.stringify(summary)}`);
    for (const b of bad) log(`  ${b}`);
    expect(bad).toEqual([]);
  }, 420_000);

  it('every control is reachable with the keyboard and has a name', async () => {
    const { context, page } = await open('idle=600&lang=en');
    await waitFrames(page, 2);
    await page.click('#btn-gallery');
    await page.waitForSelector('#gallery-list .thumb');
    await page.click('#gallery-list .thumb');
    const controls = await page.$$eval('button, a[href], input, [tabindex="0"]', (els) =>
      els
        .filter((e) => (e as HTMLElement).offsetParent !== null && !(e as HTMLButtonElement).disabled)
        .map((e) => e.id || `${e.tagName}:${(e as HTMLElement).dataset.id ?? (e as HTMLElement).dataset.survey ?? e.textContent}`),
    );
    expect(controls.length).toBeGreaterThan(15);
    await page.evaluate(() => (document.activeElement as HTMLElement)?.blur());
    const reached = new Set<string>();
    for (let i = 0; i < controls.length + 10; i++) {
      await page.keyboard.press('Tab');
      reached.add(
        await page.evaluate(() => {
          const e = document.activeElement as HTMLElement;
          return e.id || `${e.tagName}:${e.dataset.id ?? e.dataset.survey ?? e.textContent}`;
        }),
      );
    }
    expect(controls.filter((c) => !reached.has(c))).toEqual([]);
    // names: what a screen reader reads for each (the accessibility tree, not our own guess)
    const snapshot = await page.locator('body').ariaSnapshot();
    for (const b of ['Freeze', 'Save', 'Overlay', 'Measure', 'Gallery', 'Close', 'Curator mode']) expect(snapshot).toContain(`button "${b}`);
    expect(snapshot).toMatch(/button "Language: English"/);
    await context.close();
  }, 60_000);

  it('prefers-reduced-motion: a flick stops where the finger lifts; the offline pulse stands still', async () => {
    const { context, page, cdp } = await open('idle=600&lang=en', { reducedMotion: 'reduce' });
    await waitFrames(page, 2);
    await page.mouse.move(500, 300);
    for (let i = 0; i < 6; i++) await page.mouse.wheel(0, -400);
    const view = () => page.evaluate(() => (window as any).__crackscope.view);
    const p0 = (await view()).panX;
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', x: number) =>
      cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ id: 0, x, y: 320 }] });
    await touch('touchStart', 700);
    for (let x = 650; x > 450; x -= 50) {
      await touch('touchMove', x);
      await page.waitForTimeout(16);
    }
    await Promise.all([touch('touchMove', 450), touch('touchEnd', 450)]);
    await page.waitForTimeout(800);
    expect(Math.abs(p0 - (await view()).panX - 250)).toBeLessThan(3); // the finger's 250 px, no glide
    expect(await page.evaluate(() => getComputedStyle(document.getElementById('offline')!, '::before').animationName)).toBe('none');
    await context.close();
  }, 60_000);

  it('a screenshot per shipped language: frozen, measured, the language picker open', async () => {
    for (const lang of SHIPPED) {
      const { context, page } = await open(`idle=600&lang=${lang}`);
      await waitFrames(page, 2);
      await measureFrozen(page);
      await page.click('#measure-list li:nth-child(1) button');
      await page.click('#btn-lang');
      await page.waitForTimeout(300);
      await page.evaluate(() => document.querySelectorAll('#hint').forEach((h) => h.classList.add('hidden')));
      const file = path.join(SHOTS, `lang-${lang}.png`);
      await page.screenshot({ path: file });
      log(`screenshot ${file}`);
      await context.close();
    }
  }, 240_000);
});
