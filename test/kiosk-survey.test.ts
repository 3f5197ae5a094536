// The kiosk's survey view in real Chromium against the real daemon: a survey made by the real
// `crackscope survey` (shipped model, calibrated) is opened from the gallery, its deep-zoom tiles
// load, pinch zooms to finer pyramid levels, the crack map is drawn in width-class colours, and a
// tap on a crack shows its measurements. Also the report page as served. CRACKSCOPE_SCREENSHOTS=1
// writes the README's pictures to kiosk/screenshots/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './helpers/daemon.js';
import {
  countColour,
  ensureBuilt,
  haveChromium,
  launchBrowser,
  openKiosk,
  screenshotPixels,
  startDaemon,
  tap,
  tinyModelsDir,
  touchGesture,
  type Daemon,
} from './helpers/browser.js';
import { wavyCracks, writePlasterCrackImage } from './helpers/synthetic-wall.js';

const SHOTS = process.env.CRACKSCOPE_SCREENSHOTS ? path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'kiosk', 'screenshots') : null;
const W = 2560,
  H = 1920;
let tmp: string, dataDir: string, daemon: Daemon, browser: Browser, page: Page, cdp: CDPSession, errors: string[];
let geo: any;

const survey = () => page.evaluate(() => (window as any).__crackscope.survey);
const shot = async (name: string) => {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
};
/** image px → CSS px on the survey canvas (viewstate.ts's imageToScreen) */
const toScreen = (s: any, x: number, y: number, vw: number, vh: number): [number, number] => [
  (x - W / 2) * s.view.scale + vw / 2 + s.view.panX,
  (y - H / 2) * s.view.scale + vh / 2 + s.view.panY,
];

describe.skipIf(!haveChromium())('kiosk survey view', () => {
  beforeAll(async () => {
    ensureBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-kiosk-survey-'));
    dataDir = path.join(tmp, 'data');
    const img = path.join(tmp, 'plaster.jpg');
    await writePlasterCrackImage(img, W, H, wavyCracks(W, H, 5, 21, [3, 5, 5], 7), 3);
    const r = await runCli(['survey', img, '--data-dir', dataDir, '--providers', 'cpu', '--mm-per-px', '0.1', '--no-pdf'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    geo = JSON.parse(fs.readFileSync(path.join(dataDir, 'surveys', 'plaster', 'crackmap.geojson'), 'utf8'));
    daemon = await startDaemon({ source: 'test://ball', modelsDir: tinyModelsDir(), dataDir });
    browser = await launchBrowser();
    ({ page, cdp, errors } = await openKiosk(browser, daemon.url, { query: 'idle=600&lang=en', width: 1280, height: 800 }));
  }, 400_000);
  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the gallery lists the survey; opening it shows the whole wall from its tiles with the crack map on top', async () => {
    await page.click('#btn-gallery');
    await page.waitForSelector('#survey-list button[data-survey="plaster"]', { timeout: 10_000 });
    expect(await page.textContent('#survey-list')).toMatch(/plaster · 5 MP · \d+ cracks · 1\.\d\d m/);
    await shot('survey-gallery');
    await page.click('#survey-list button[data-survey="plaster"]');
    await page.waitForFunction(() => (window as any).__crackscope.survey.stats.tilesDrawn > 0, null, { timeout: 15_000 });
    await page.waitForTimeout(300);
    const s = await survey();
    expect(s.visible).toBe(true);
    expect(s.view.zoom).toBe(1);
    expect(s.info).toMatch(/\d+ cracks · 1\.\d\d m · tap a crack/);
    const px = await screenshotPixels(page);
    // the map: branches in the classes' colours (0.3–0.5 mm = medium, orange; 0.1–0.3 mm = fine, green)
    expect(countColour(px, [0xfd, 0xae, 0x61], 30) + countColour(px, [0x1a, 0x96, 0x41], 30)).toBeGreaterThan(2000);
    // and the picture: the plaster's grey fills most of the screen (tiles or overview, not black)
    expect(countColour(px, [200, 200, 200], 35)).toBeGreaterThan(300_000);
    await shot('survey');
  }, 60_000);

  test('pinch zooms in about the fingers and the view switches to a finer pyramid level', async () => {
    const before = await survey();
    await touchGesture(
      cdp,
      [
        { from: [560, 400], to: [360, 400] },
        { from: [720, 400], to: [920, 400] },
      ],
      14,
      200,
    );
    await touchGesture(
      cdp,
      [
        { from: [560, 400], to: [360, 400] },
        { from: [720, 400], to: [920, 400] },
      ],
      14,
      200,
    );
    await page.waitForFunction(
      (l) => {
        const s = (window as any).__crackscope.survey;
        return s.stats.level > l && s.stats.tilesDrawn > 0;
      },
      before.stats.level,
      { timeout: 15_000 },
    );
    await page.waitForTimeout(500);
    const s = await survey();
    expect(s.view.zoom).toBeGreaterThan(2.5);
    expect(s.stats.level).toBeGreaterThan(before.stats.level);
    expect(s.stats.tilesLoaded).toBeGreaterThan(before.stats.tilesLoaded);
    await shot('survey-zoomed');
  }, 60_000);

  test('a tap on a crack shows its length and widths in mm and its class; a tap beside it clears', async () => {
    let s = await survey();
    // a vertex of the longest branch that is on screen now
    const f = [...geo.features]
      .sort((a: any, b: any) => b.properties.length_px - a.properties.length_px)
      .find((ft: any) =>
        ft.geometry.coordinates.some(([x, y]: number[]) => {
          const [sx, sy] = toScreen(s, x, y, 1280, 800);
          return sx > 100 && sx < 1180 && sy > 150 && sy < 650;
        }),
      );
    expect(f).toBeTruthy();
    const [x, y] = f.geometry.coordinates.find(([cx, cy]: number[]) => {
      const [sx, sy] = toScreen(s, cx, cy, 1280, 800);
      return sx > 100 && sx < 1180 && sy > 150 && sy < 650;
    });
    const [sx, sy] = toScreen(s, x, y, 1280, 800);
    await tap(cdp, sx, sy);
    await page.waitForFunction(() => (window as any).__crackscope.survey.selected !== null, null, { timeout: 5_000 });
    s = await survey();
    expect(s.selected.crack).toBe(f.properties.crack);
    expect(s.info).toContain(`Crack ${s.selected.id}: Length ${s.selected.length_mm.toFixed(1)} mm`);
    expect(s.info).toMatch(/Mean width [0-2]\.\d\d mm · Max width [0-3]\.\d\d mm · width class (fine|medium)/);
    await page.waitForTimeout(200);
    await shot('survey-selected');
    // far from every crack: the plaster between two bands
    await tap(cdp, 640, 60);
    await page.waitForFunction(() => (window as any).__crackscope.survey.selected === null, null, { timeout: 5_000 });
    expect(errors).toEqual([]);
  }, 60_000);

  test('closing returns to the live view', async () => {
    await page.click('#survey-close');
    expect((await survey()).visible).toBe(false);
    expect(await page.isVisible('#toolbar')).toBe(true);
  });

  test('the report as served: self-contained, its map and table drawn (CSP allows only inline style and data: images)', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 1400 } });
    const p = await ctx.newPage();
    const errs: string[] = [];
    p.on('console', (m) => {
      if (m.type() === 'error') errs.push(m.text());
    });
    p.on('requestfailed', (r) => errs.push(`failed: ${r.url()}`));
    const res = await p.goto(`${daemon.url}/api/surveys/plaster/report.html`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toMatch(/img-src data:/);
    expect(await p.locator('table.cracks tbody tr').count()).toBeGreaterThan(0);
    expect(await p.locator('svg.map polyline').count()).toBe(geo.features.length);
    const img = await p.screenshot({ type: 'png' });
    const sharp = (await import('sharp')).default;
    const { data, info } = await sharp(img).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const shotPx = { data: new Uint8Array(data), width: info.width, height: info.height };
    expect(countColour(shotPx, [0xfd, 0xae, 0x61], 30) + countColour(shotPx, [0x1a, 0x96, 0x41], 30)).toBeGreaterThan(500);
    if (SHOTS) await p.screenshot({ path: path.join(SHOTS, 'survey-report.png') });
    expect(errs).toEqual([]);
    await ctx.close();
    // unknown names and files are 404, traversal is refused
    expect((await fetch(`${daemon.url}/api/surveys/plaster/mask.tif`)).status).toBe(404);
    expect((await fetch(`${daemon.url}/api/surveys/nope/survey.json`)).status).toBe(404);
    expect((await fetch(`${daemon.url}/api/surveys/..%2f..%2fetc/survey.json`)).status).toBe(400);
  }, 60_000);
});
