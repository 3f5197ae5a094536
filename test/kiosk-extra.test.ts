// The kiosk's less visible behaviours, in Debian's Chromium against the real daemon: deflated masks
// on the wire, inertia after a flick, and the idle return to the full view with the usage hint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { ensureBuilt, haveChromium, launchBrowser, openKiosk, startDaemon, waitFrames, type Daemon } from './helpers/browser.js';
import { collectFrames } from './helpers/daemon.js';

let daemon: Daemon;
let browser: Browser;
let page: Page;
let cdp: CDPSession;

const hook = <T>(fn: string): Promise<T> => page.evaluate(`(() => { const k = window.__crackscope; return ${fn}; })()`) as Promise<T>;
const view = () => hook<{ zoom: number; panX: number; panY: number }>('k.view');

describe.skipIf(!haveChromium())('kiosk: deflated masks, inertia, idle reset', () => {
  beforeAll(async () => {
    ensureBuilt();
    daemon = await startDaemon({ source: 'demo://', extraArgs: ['--mask-encoding', 'deflate'] });
    browser = await launchBrowser();
    ({ page, cdp } = await openKiosk(browser, daemon.url, { query: 'idle=5' }));
    await waitFrames(page, 5);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
  });

  it('deflated masks are smaller on the wire and the page inflates them to the full mask', async () => {
    const { frames } = await collectFrames(daemon.port, 5);
    for (const f of frames) {
      expect(f.mask.encoding).toBe(1);
      expect(f.maskBytes.byteLength).toBeLessThan((f.mask.width * f.mask.height) / 4);
    }
    const lit = await page.evaluate(() => {
      const k = (window as any).__crackscope;
      const s = atob(k.mask());
      let n = 0;
      for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 128) n++;
      return { length: s.length, n, w: k.state.mask.width, h: k.state.mask.height };
    });
    expect(lit.length).toBe(lit.w * lit.h);
    expect(lit.n).toBeGreaterThan(100);
  });

  it('a flick keeps the view gliding after the finger lifts, and it slows to a stop', async () => {
    await page.mouse.move(500, 300);
    for (let i = 0; i < 6; i++) await page.mouse.wheel(0, -400);
    expect((await view()).zoom).toBeGreaterThan(2);
    const p0 = (await view()).panX;
    // a fast 250 px flick to the left, lifted while moving: the last move and the lift are sent
    // back to back, so a loaded machine cannot turn the flick into a drag that stopped
    const touch = (type: string, x: number) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ id: 0, x, y: 320 }] });
    await touch('touchStart', 700);
    for (let x = 650; x > 450; x -= 50) {
      await touch('touchMove', x);
      await page.waitForTimeout(16);
    }
    await Promise.all([touch('touchMove', 450), touch('touchEnd', 450)]);
    await page.waitForTimeout(2000);
    const rest = (await view()).panX;
    await page.waitForTimeout(300);
    // the view moved on past the finger's 250 px in the flick's direction, then stopped
    expect(p0 - rest).toBeGreaterThan(250 + 15);
    expect((await view()).panX).toBe(rest);
  });

  it('after the idle timeout the view returns to the full image and the hint shows', async () => {
    expect((await view()).zoom).toBeGreaterThan(1);
    await expect.poll(async () => (await view()).zoom, { timeout: 10_000 }).toBe(1);
    expect(await page.isVisible('#hint')).toBe(true);
    expect((await page.textContent('#hint'))?.length).toBeGreaterThan(4);
  });
});
