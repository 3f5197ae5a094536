// The kiosk overlay draws exactly at the chosen threshold (issue 21), as the server measures:
// a mask pixel is crack when value ≥ threshold × 255. In Debian's Chromium against the real daemon,
// on a picture the test made: vertical stripes of known grey levels, through the tiny test model
// (mask = the pixel's brightness), so the mask holds exactly those levels, around 0.5 (127.5) and
// the shipped 0.6 (153). Solid overlay, full opacity: a stripe is magenta or it is not.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  afterDraw,
  ensureBuilt,
  haveChromium,
  launchBrowser,
  openKiosk,
  screenshotPixels,
  startDaemon,
  tinyModelsDir,
  waitFrames,
  type Daemon,
} from './helpers/browser.js';

const W = 320,
  H = 256;
const LEVELS = [0, 126, 127, 128, 129, 151, 152, 153, 154, 255];
const STRIPE = W / LEVELS.length;

let daemon: Daemon;
let browser: Browser;
let page: Page;

const hook = <T>(fn: string): Promise<T> => page.evaluate(`(() => { const k = window.__crackscope; return ${fn}; })()`) as Promise<T>;

describe.skipIf(!haveChromium())('kiosk overlay threshold', () => {
  beforeAll(async () => {
    ensureBuilt();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-stripes-'));
    const rgb = Buffer.alloc(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) rgb.fill(LEVELS[Math.floor(x / STRIPE)], (y * W + x) * 3, (y * W + x) * 3 + 3);
    const png = path.join(dir, 'stripes.png');
    await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toFile(png);
    daemon = await startDaemon({ source: `file://${png}`, modelsDir: tinyModelsDir(W, H) });
    browser = await launchBrowser();
    ({ page } = await openKiosk(browser, daemon.url, { query: 'idle=600' }));
    await waitFrames(page, 2);
    await hook('k.freeze()');
    await page.addStyleTag({ content: '#hint,#statusbar,#toolbar,#toast,#overlay-panel{display:none!important}' });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
  });

  /** which stripes the overlay draws (magenta at the centre of each stripe, in three rows) */
  async function drawnStripes(threshold: number): Promise<number[]> {
    await page.evaluate((t) => {
      document.querySelector<HTMLElement>('#overlay-panel [data-mode="1"]')!.click();
      const op = document.getElementById('opacity') as HTMLInputElement;
      op.value = '1';
      op.dispatchEvent(new Event('input', { bubbles: true }));
      const th = document.getElementById('threshold') as HTMLInputElement;
      th.value = String(t);
      th.dispatchEvent(new Event('input', { bubbles: true }));
    }, threshold);
    await afterDraw(page);
    expect((await hook<any>('k.state')).overlay).toMatchObject({ mode: 1, opacity: 1, threshold });
    const img = await screenshotPixels(page);
    const drawn: number[] = [];
    for (let s = 0; s < LEVELS.length; s++) {
      let magenta = 0;
      for (const my of [H * 0.25, H * 0.5, H * 0.75]) {
        const [sx, sy] = await hook<[number, number]>(`k.maskToScreen(${(s + 0.5) * STRIPE}, ${my})`);
        const i = (Math.round(sy) * img.width + Math.round(sx)) * 4;
        if (img.data[i] > 235 && img.data[i + 1] < 20 && img.data[i + 2] > 235) magenta++;
      }
      expect([0, 3], `stripe ${LEVELS[s]} drawn in some rows only`).toContain(magenta);
      if (magenta === 3) drawn.push(LEVELS[s]);
    }
    return drawn;
  }

  it('the mask on screen holds exactly the stripe levels', async () => {
    const mask = Buffer.from(await hook<string>('k.mask()'), 'base64');
    expect(mask.length).toBe(W * H);
    for (let s = 0; s < LEVELS.length; s++) expect(mask[100 * W + Math.round((s + 0.5) * STRIPE)]).toBe(LEVELS[s]);
  });

  it('at 0.6 (153/255) the 153 stripe is drawn and the 152 stripe is not; at 0.5, 128 but not 127', async () => {
    expect(await drawnStripes(0.6)).toEqual([153, 154, 255]);
    expect(await drawnStripes(0.5)).toEqual([128, 129, 151, 152, 153, 154, 255]);
    // 0.51 × 255 = 130.05: 131 and up; none of 128, 129
    expect(await drawnStripes(0.51)).toEqual([151, 152, 153, 154, 255]);
    expect(await drawnStripes(0.95)).toEqual([255]);
  });
});
