// The kiosk in Debian's Chromium against a real `crackscope serve` on demo:// with the shipped crack
// model: live frames and the overlay where the mask says (issue 3), gestures, threshold, capture +
// gallery, measure + calibration, language, and the offline state with recovery (issue 5).
// One daemon is shared; every test gets a fresh page (no test inherits another's zoom, overlay or
// mode) and asserts on a frame it froze, waiting on drawn frames and polled conditions, not sleeps.
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import {
  afterDraw,
  countColour,
  doubleTap,
  ensureBuilt,
  freezeOnCracks as freezeOn,
  haveChromium,
  launchBrowser,
  openKiosk,
  screenshotPixels,
  startDaemon,
  tap,
  touchGesture,
  viewAtRest,
  waitFrames,
  type Daemon,
} from './helpers/browser.js';

const SOLID: [number, number, number] = [255, 0, 255]; // the solid overlay colour (magenta)
const SHOTS = process.env.CRACKSCOPE_SCREENSHOTS ? path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'kiosk', 'screenshots') : null;

let daemon: Daemon;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let cdp: CDPSession;
let errors: string[];

const hook = <T>(fn: string): Promise<T> => page.evaluate(`(() => { const k = window.__crackscope; return ${fn}; })()`) as Promise<T>;
const view = () => hook<{ zoom: number; panX: number; panY: number; scale: number }>('k.view');
const state = () => hook<any>('k.state');
const hideChrome = () => page.addStyleTag({ content: '#hint,#statusbar,#toolbar,#toast,#overlay-panel{display:none!important}' });
async function shot(name: string) {
  if (SHOTS) {
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  }
}
async function setRange(id: string, v: number) {
  await page.evaluate(
    ([id, v]) => {
      const el = document.getElementById(id as string) as HTMLInputElement;
      el.value = String(v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    },
    [id, v] as const,
  );
}
async function setOverlay(mode: number, opacity: number, threshold: number) {
  await page.click('#btn-overlay');
  await page.click(`#overlay-panel [data-mode="${mode}"]`);
  await page.locator('#opacity').fill(String(opacity));
  await page.locator('#threshold').fill(String(threshold));
  await page.click('#btn-overlay');
}
/** Freezes a frame with at least minPixels strong crack pixels in the left `leftFraction` of the mask. */
const freezeOnCracks = (minPixels = 2000, leftFraction = 1) => freezeOn(page, minPixels, leftFraction);

describe.skipIf(!haveChromium())('kiosk in Chromium against crackscope serve (demo://)', () => {
  beforeAll(async () => {
    ensureBuilt();
    // tensorrt and cuda cannot load here: the kiosk must say which provider runs and why the others did not
    daemon = await startDaemon({ source: 'demo://', extraArgs: ['--providers', 'tensorrt,cuda,cpu'] });
    browser = await launchBrowser();
  }, 60_000);

  beforeEach(async () => {
    ({ context, page, cdp, errors } = await openKiosk(browser, daemon.url, { query: 'idle=600' }));
    page.setDefaultTimeout(10_000);
    await waitFrames(page, 3);
  });
  afterEach(async () => {
    await context?.close();
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
  });

  it('shows live frames with the provider, fps, latency and browser frame time', async () => {
    await expect.poll(() => page.textContent('#st-provider')).toBe('CPU ⓘ');
    // any rate above zero: at a 1-minute load of 13 on 2 cores the demo pipeline shows 0.55 fps, and
    // that is what the kiosk must then report (speed lives in `crackscope bench`, not here)
    await expect.poll(async () => (await hook<any>('k.stats')).fps, { timeout: 15_000 }).toBeGreaterThan(0);
    await expect.poll(async () => (await hook<any>('k.stats')).frameMsP50, { timeout: 15_000 }).toBeGreaterThan(0);
    const why = await page.getAttribute('#st-provider', 'title');
    expect(why).toMatch(/^tensorrt: .{10,}\ncuda: .{10,}$/);
    // the page's stats are refreshed on a timer: poll them rather than read one snapshot
    await expect.poll(async () => (await hook<any>('k.stats')).framesShown, { timeout: 15_000 }).toBeGreaterThan(3);
    expect((await hook<any>('k.stats')).decodeErrors).toBe(0);
    expect(await page.textContent('#st-fps')).toMatch(/\d/);
    expect(await page.textContent('#st-conn')).toBe('已连接');
    await shot('live');
  });

  it('draws crack overlay pixels where the mask says and not elsewhere (issue 3 end to end)', async () => {
    await setOverlay(1, 1, 0.5);
    await freezeOnCracks();
    await hideChrome();
    const [maskB64, st, v] = await Promise.all([hook<string>('k.mask()'), state(), hook<any>('k.view')]);
    const mask = Buffer.from(maskB64, 'base64');
    const { width: mw, height: mh } = st.mask;
    expect(mask.length).toBe(mw * mh);
    const img = await screenshotPixels(page);
    const thr = 0.5 * 255;
    let onHit = 0,
      onTotal = 0,
      offHit = 0,
      offTotal = 0;
    // every pixel: a frame whose cracks are 2-3 px wide has few pixels with a whole 3×3 window inside,
    // and sampling every third one left 8 of them on such a frame under load (issue 21)
    for (let my = 2; my < mh - 2; my++) {
      for (let mx = 2; mx < mw - 2; mx++) {
        let lo = 255,
          hi = 0;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const v = mask[(my + dy) * mw + mx + dx];
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
          }
        const inside = lo >= thr,
          outside = hi < thr;
        if (!inside && !outside) continue; // edges: filtering may go either way
        const [sx, sy] = screenPos((mx + 0.5) / mw, (my + 0.5) / mh, v);
        const x = Math.round(sx),
          y = Math.round(sy);
        if (x < 0 || y < 0 || x >= img.width || y >= img.height) continue;
        const i = (y * img.width + x) * 4;
        const magenta = img.data[i] > 220 && img.data[i + 1] < 40 && img.data[i + 2] > 220;
        if (inside) {
          onTotal++;
          if (magenta) onHit++;
        } else {
          offTotal++;
          if (magenta) offHit++;
        }
      }
    }
    expect(onTotal).toBeGreaterThan(10);
    expect(offTotal).toBeGreaterThan(1000);
    expect(onHit / onTotal).toBeGreaterThan(0.97);
    expect(offHit / offTotal).toBeLessThan(0.005);
  });

  it('the threshold slider changes the overlay at once, in the right direction', async () => {
    await setOverlay(1, 1, 0.5);
    await freezeOnCracks();
    await hideChrome();
    const counts: number[] = [];
    for (const t of [0.2, 0.5, 0.9]) {
      await setRange('threshold', t);
      await afterDraw(page);
      counts.push(countColour(await screenshotPixels(page), SOLID, 30));
    }
    expect(counts[0]).toBeGreaterThan(counts[1]);
    expect(counts[1]).toBeGreaterThan(counts[2]);
  });

  it('compare divider hides the overlay left of it', async () => {
    await setOverlay(1, 1, 0.5);
    await freezeOnCracks(2000, 1);
    await page.click('#btn-compare');
    await hideChrome();
    await afterDraw(page);
    const img = await screenshotPixels(page);
    const half = img.width / 2;
    const left = countColour(img, SOLID, 30, { x: 0, y: 0, w: half - 30, h: img.height });
    const right = countColour(img, SOLID, 30, { x: half + 30, y: 0, w: half - 30, h: img.height });
    expect(left).toBe(0);
    expect(right).toBeGreaterThan(500);
  });

  it('pinch zooms about the finger midpoint, one finger pans, double-tap resets, wheel zooms', async () => {
    const v0 = await view();
    expect(v0.zoom).toBe(1);
    // fingers 200 px apart around (600, 300) spread to 400 px: zoom ×2, the point under (600, 300) stays
    const before = await hook<[number, number]>('k.imageToScreen(0, 0)');
    await touchGesture(cdp, [
      { from: [500, 300], to: [400, 300] },
      { from: [700, 300], to: [800, 300] },
    ]);
    await viewAtRest(page);
    const v1 = await view();
    expect(v1.zoom).toBeGreaterThan(1.9);
    expect(v1.zoom).toBeLessThan(2.1);
    const after = await hook<[number, number]>('k.imageToScreen(0, 0)');
    // image origin moved away from the midpoint by the zoom factor
    expect(after[0] - 600).toBeCloseTo((before[0] - 600) * (v1.zoom / v0.zoom), -1);
    expect(after[1] - 300).toBeCloseTo((before[1] - 300) * (v1.zoom / v0.zoom), -1);
    // one finger drags by (-120, -50): the view moves by the same amount (held before lifting: no glide)
    await touchGesture(cdp, [{ from: [600, 350], to: [480, 300] }]);
    await viewAtRest(page);
    const v2 = await view();
    expect(v2.panX - v1.panX).toBeCloseTo(-120, -1);
    expect(v2.panY - v1.panY).toBeCloseTo(-50, -1);
    // double-tap: back to the full view
    const doubles = (await state()).gestures.doubleTaps as number;
    await doubleTap(cdp, 500, 300);
    await expect.poll(async () => (await state()).gestures.doubleTaps).toBe(doubles + 1);
    await expect.poll(async () => (await view()).zoom).toBe(1);
    // mouse wheel zooms in, up to pixel level at most
    await page.mouse.move(500, 300);
    for (let i = 0; i < 30; i++) await page.mouse.wheel(0, -400);
    const v3 = await view();
    expect(v3.scale).toBeGreaterThanOrEqual(23.9); // 24 screen px per image pixel
  });

  it('capture: saved atomically on disk with a valid report, shown in the gallery, deletable', async () => {
    await page.click('#btn-capture');
    await expect.poll(() => page.textContent('#toast'), { timeout: 10_000 }).toMatch(/已保存/);
    const capDir = path.join(daemon.dataDir, 'captures');
    const ids = fs.readdirSync(capDir).filter((n) => !n.startsWith('.'));
    expect(ids).toHaveLength(1);
    const files = fs.readdirSync(path.join(capDir, ids[0])).sort();
    expect(files).toEqual(['image.jpg', 'mask.png', 'report.json', 'thumb.jpg']);
    const report = JSON.parse(fs.readFileSync(path.join(capDir, ids[0], 'report.json'), 'utf8'));
    expect(report.id).toBe(ids[0]);
    expect(report.source).toBe('demo://');
    expect(report.model.name).toBe(JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'models', 'default.json'), 'utf8')).model);
    expect(report.mask).toMatchObject({ width: 640, height: 384 });
    expect(Array.isArray(report.cracks)).toBe(true);
    expect(report.analysis.crack_count).toBe(report.cracks.length);
    expect(fs.readFileSync(path.join(capDir, ids[0], 'image.jpg')).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(
      fs
        .readFileSync(path.join(capDir, ids[0], 'mask.png'))
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');

    await page.click('#btn-gallery');
    const thumb = page.locator(`#gallery-list .thumb[data-id="${ids[0]}"]`);
    await thumb.waitFor();
    await expect.poll(() => thumb.locator('img').evaluate((i: HTMLImageElement) => i.naturalWidth)).toBeGreaterThan(0);
    await thumb.click();
    await shot('gallery');
    expect(await page.getAttribute('#dl-report', 'href')).toContain(`${ids[0]}/report.json`);
    // open in the viewer
    await page.click('#detail-open');
    await expect.poll(async () => (await state()).mode).toBe('capture');
    expect((await state()).captureId).toBe(ids[0]);
    await page.click('#btn-freeze'); // back to live
    await page.click('#btn-gallery');
    await thumb.click();
    // delete: allowed from this device (loopback, no token configured)
    await page.click('#detail-delete');
    await expect.poll(() => page.locator('#gallery-list .thumb').count()).toBe(0);
    expect(fs.readdirSync(capDir).filter((n) => !n.startsWith('.'))).toHaveLength(0);
    await page.click('#gallery-close');
  });

  it('measure: cracks listed, tap one to highlight it; calibration scales lengths by the expected factor', async () => {
    // a frame with cracks in its left half: the measure drawer covers the right side of the view
    await freezeOnCracks(1000, 0.5);
    await page.click('#btn-measure');
    await expect.poll(async () => (await state()).crackCount, { timeout: 10_000 }).toBeGreaterThan(0);
    const before = (await state()).cracks as any[];
    expect(before[0].length_px).toBeGreaterThan(0);
    expect(before[0].length_mm).toBeUndefined();
    expect(await page.locator('#measure-list li').count()).toBe(before.length);
    // bridged gaps (inferred, issue 20) are drawn over the image, one dashed line each
    expect(await page.locator('#marks line.bridge').count()).toBe(before.reduce((t, c) => t + c.bridges, 0));

    // tap a crack where the image is not under the measure drawer: the strongest mask pixel of the
    // longest crack that has one left of the drawer
    const drawerLeft = await page.evaluate(() => document.getElementById('measure')!.getBoundingClientRect().left);
    const target = await page.evaluate(
      ({ cracks, drawerLeft }) => {
        const k = (window as any).__crackscope;
        const s = atob(k.mask());
        const w = k.state.mask.width;
        for (const { bbox } of cracks) {
          let best: [number, number, number] = [-1, -1, 0];
          for (let y = bbox.y; y < bbox.y + bbox.h; y++)
            for (let x = bbox.x; x < bbox.x + bbox.w; x++) {
              const v = s.charCodeAt(y * w + x);
              if (v <= best[2] || v < 160) continue;
              const [sx, sy] = k.maskToScreen(x + 0.5, y + 0.5);
              if (sx > 8 && sx < drawerLeft - 8 && sy > 60 && sy < innerHeight - 110) best = [x, y, v];
            }
          if (best[0] >= 0) return k.maskToScreen(best[0] + 0.5, best[1] + 0.5) as [number, number];
        }
        throw new Error('no crack pixel outside the drawer');
      },
      { cracks: before, drawerLeft },
    );
    await tap(cdp, target[0], target[1]);
    await expect.poll(async () => (await state()).selectedCrack).toBeGreaterThan(0);
    expect(await page.locator('#measure-list li.sel').count()).toBe(1);
    expect(await page.textContent('#measure-selected')).toMatch(/#\d+/);
    await shot('frozen-selected');

    // calibrate: two points 200 mask px apart (left of the drawer) = 50 mm → 0.25 mm per px
    await page.click('#calib-start');
    const p1 = await hook<[number, number]>('k.maskToScreen(100, 150)');
    const p2 = await hook<[number, number]>('k.maskToScreen(300, 150)');
    await tap(cdp, p1[0], p1[1]);
    await tap(cdp, p2[0], p2[1]); // 320 screen px apart: never read as a double tap
    await page.fill('#calib-mm', '50');
    await page.click('#calib-save');
    await expect.poll(async () => (await state()).mmPerPx, { timeout: 10_000 }).not.toBeNull();
    const mmPerPx = (await state()).mmPerPx as number;
    expect(mmPerPx).toBeCloseTo(0.25, 2); // taps land within a fraction of a mask pixel
    const after = (await state()).cracks as any[];
    expect(after.length).toBe(before.length);
    for (let i = 0; i < Math.min(5, after.length); i++) {
      expect(after[i].length_px).toBeCloseTo(before[i].length_px, 1);
      expect(after[i].length_mm / after[i].length_px).toBeCloseTo(mmPerPx, 3);
    }
    const cal = await (await fetch(`${daemon.url}/api/calibration?source=demo://`)).json();
    expect(cal.calibration.mmPerPx).toBeCloseTo(mmPerPx, 6);
    expect(await page.textContent('#measure-summary')).toMatch(/mm/);
    await page.click('#measure-close');
    await page.click('#btn-freeze'); // back to live
  });

  it('language switch changes the visible labels', async () => {
    expect(await page.textContent('#btn-freeze')).toBe('冻结');
    await page.click('#btn-lang'); // the picker (issue 22): every language in its own name
    await page.click('#lang-list button[data-lang="en"]');
    expect(await page.textContent('#btn-freeze')).toBe('Freeze');
    expect(await page.textContent('#btn-capture')).toBe('Save');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await expect.poll(() => page.textContent('#st-conn')).toBe('Connected');
    await page.click('#btn-lang');
    await page.click('#lang-list button[data-lang="zh"]');
    expect(await page.textContent('#btn-freeze')).toBe('冻结');
    // every toolbar button is a touch target of at least 48 × 48 px
    for (const b of await page.locator('#toolbar button:visible').all()) {
      const box = (await b.boundingBox())!;
      expect(box.width).toBeGreaterThanOrEqual(48);
      expect(box.height).toBeGreaterThanOrEqual(48);
    }
  });

  it('killing the server shows the offline state; restarting it recovers', async () => {
    await daemon.stop('SIGKILL');
    await page.locator('#offline').waitFor({ state: 'visible', timeout: 15_000 });
    expect(await page.textContent('#offline-title')).toMatch(/服务器/);
    await shot('offline');
    const shown = (await hook<any>('k.stats')).framesShown;
    daemon = await daemon.restart();
    await page.locator('#offline').waitFor({ state: 'hidden', timeout: 20_000 });
    await waitFrames(page, shown + 3);
    expect((await state()).conn).toBe('open');
    expect(errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e))).toEqual([]);
  });
});

/** image fraction (u, v) → screen, from the page's view state (the arithmetic of kiosk/src/viewstate.ts) */
function screenPos(u: number, w: number, v: any): [number, number] {
  return [(u - 0.5) * v.image.w * v.scale + v.viewport.w / 2 + v.panX, (w - 0.5) * v.image.h * v.scale + v.viewport.h / 2 + v.panY];
}
