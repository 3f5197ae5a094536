// The kiosk without WebGL (Chromium started with WebGL and 3D APIs off, as on a device whose GL
// stack Chromium cannot use): the page still shows the live image with the crack mask, through
// the Canvas2D fallback, and says so in a notice. Before issue 17 three.js threw "Error creating
// WebGL context" and the screen stayed blank.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, ensureBuilt, haveChromium, startDaemon, type Daemon } from './helpers/browser.js';

let daemon: Daemon;
let browser: Browser;
let page: Page;
const errors: string[] = [];

describe.skipIf(!haveChromium())('kiosk without WebGL', () => {
  beforeAll(async () => {
    ensureBuilt();
    daemon = await startDaemon({ source: 'demo://' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-webgl',
        '--disable-webgl2',
        '--disable-3d-apis',
        '--disable-software-rasterizer',
        '--disable-background-networking',
        '--disable-component-update',
      ],
    });
    const context = await browser.newContext({ viewport: { width: 960, height: 600 } });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(daemon.url);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
  });

  it('WebGL really is off in this browser', async () => {
    const gl = await page.evaluate(() => !!document.createElement('canvas').getContext('webgl2') || !!document.createElement('canvas').getContext('webgl'));
    expect(gl).toBe(false);
  });

  it('renders the live image and the mask with Canvas2D, and says so', async () => {
    await page.waitForFunction(() => document.documentElement.dataset.renderer === '2d', undefined, { timeout: 20_000 });
    await expect.poll(() => page.locator('#webgl-fallback').textContent(), { timeout: 5000 }).toMatch(/WebGL is not available/);
    expect(await page.locator('#webgl-fallback').isVisible()).toBe(true);
    // frames arrive and are drawn: the canvas holds the image (many distinct grey levels) and mask-tinted pixels
    const stats = async () =>
      page.evaluate(() => {
        const c = document.getElementById('view') as HTMLCanvasElement;
        const ctx = c.getContext('2d')!;
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        const levels = new Set<number>();
        let tinted = 0;
        for (let i = 0; i < d.length; i += 4 * 7) {
          levels.add(d[i] >> 2);
          if (d[i] > 200 && d[i + 2] < 80 && d[i] - d[i + 2] > 150) tinted++;
        }
        return { levels: levels.size, tinted, w: c.width, h: c.height };
      });
    await expect.poll(async () => (await stats()).levels, { timeout: 20_000 }).toBeGreaterThan(20);
    await expect.poll(async () => (await stats()).tinted, { timeout: 20_000 }).toBeGreaterThan(20);
    const s = await stats();
    expect(s.w).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });
});
