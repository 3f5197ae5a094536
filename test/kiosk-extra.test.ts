// The kiosk's less visible behaviours, in Debian's Chromium against the real daemon: deflated masks
// on the wire, inertia after a flick, and the idle return to the full view with the usage hint.
// Each test gets a fresh page; each asserts on a frame it froze and compared byte for byte, or on a
// view it waited to come to rest, never on whatever happens to be on screen at a fixed time.
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import WebSocket from 'ws';
import {
  ensureBuilt,
  freezeOnCracks,
  haveChromium,
  launchBrowser,
  openKiosk,
  startDaemon,
  touchSequence,
  viewAtRest,
  waitFrames,
  type Daemon,
} from './helpers/browser.js';
import { decodeBinaryMessage, MASK_DEFLATE } from '../server/protocol/wire-format.js';

let daemon: Daemon;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let cdp: CDPSession;

const hook = <T>(fn: string): Promise<T> => page.evaluate(`(() => { const k = window.__crackscope; return ${fn}; })()`) as Promise<T>;
const view = () => hook<{ zoom: number; panX: number; panY: number }>('k.view');

describe.skipIf(!haveChromium())('kiosk: deflated masks, inertia, idle reset', () => {
  beforeAll(async () => {
    ensureBuilt();
    daemon = await startDaemon({ source: 'demo://', extraArgs: ['--mask-encoding', 'deflate'] });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
  });
  // a long idle timeout, but for the test of the idle return (a loaded machine can take longer than
  // a short one between two steps of a test, and the view would reset under it)
  const open = async (idleS: number) => {
    await context?.close();
    ({ context, page, cdp } = await openKiosk(browser, daemon.url, { query: `idle=${idleS}` }));
    await waitFrames(page, 3);
  };
  beforeEach(() => open(600));
  afterEach(async () => {
    await context?.close();
  });

  it('deflated masks are smaller on the wire and the page inflates them to exactly the mask sent', async () => {
    // a viewer of our own beside the page: every frame's deflated mask, by frame id
    const ws = new WebSocket(`ws://127.0.0.1:${daemon.port}/ws`);
    const sent = new Map<number, { deflated: number; mask: Buffer; width: number; height: number }>();
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const m = decodeBinaryMessage(new Uint8Array(data as Buffer));
      if (m.kind !== 'frame') return;
      const f = m.frame;
      expect(f.mask.encoding).toBe(MASK_DEFLATE);
      sent.set(f.frameId, { deflated: f.maskBytes.byteLength, mask: zlib.inflateSync(f.maskBytes), width: f.mask.width, height: f.mask.height });
    });
    await new Promise((r) => ws.once('open', r));
    try {
      await expect.poll(() => sent.size, { timeout: 20_000 }).toBeGreaterThan(2);
      // a frame with cracks, frozen on the page, and the same frame as our viewer received it
      const id = await freezeOnCracks(page, 500);
      await expect.poll(() => sent.has(id), { timeout: 10_000 }).toBe(true);
      const f = sent.get(id)!;
      // smaller than the raw mask; by how much depends on the frame's content, and which demo frame
      // gets frozen depends on the machine's load (one frozen at load 9 deflated to 25.5 % of raw)
      expect(f.deflated).toBeLessThan((f.width * f.height) / 2);
      const onPage = Buffer.from(await hook<string>('k.mask()'), 'base64');
      expect(onPage.length).toBe(f.width * f.height);
      expect(onPage.equals(f.mask)).toBe(true);
      expect(onPage.filter((v) => v >= 180).length).toBeGreaterThanOrEqual(500);
    } finally {
      ws.close();
    }
  });

  it('a flick keeps the view gliding after the finger lifts, and it slows to a stop', async () => {
    await page.mouse.move(500, 300);
    for (let i = 0; i < 6; i++) await page.mouse.wheel(0, -400);
    expect((await view()).zoom).toBeGreaterThan(2);
    await viewAtRest(page);
    const p0 = (await view()).panX;
    const pans0 = await hook<number>('k.state.gestures.pans');
    // a fast 250 px flick to the left, a move every 16 ms, lifted 8 ms after the last move while
    // still moving; the events carry those times, which is what the kiosk measures the flick by
    await touchSequence(cdp, [
      [0, 'touchStart', 700, 320],
      [16, 'touchMove', 650, 320],
      [32, 'touchMove', 600, 320],
      [48, 'touchMove', 550, 320],
      [64, 'touchMove', 500, 320],
      [80, 'touchMove', 450, 320],
      [88, 'touchEnd'],
    ]);
    await expect.poll(() => hook<number>('k.state.gestures.pans')).toBeGreaterThan(pans0);
    // the glide ends by itself: wait for the view to be still, then it stays still
    await viewAtRest(page, 5);
    const rest = (await view()).panX;
    // the view moved on past the finger's 250 px in the flick's direction, then stopped
    expect(p0 - rest).toBeGreaterThan(250 + 15);
    await viewAtRest(page, 10);
    expect((await view()).panX).toBe(rest);
  });

  it('after the idle timeout the view returns to the full image and the hint shows', async () => {
    await open(5);
    await page.mouse.move(500, 300);
    for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -400);
    expect((await view()).zoom).toBeGreaterThan(1);
    await expect.poll(async () => (await view()).zoom, { timeout: 15_000 }).toBe(1);
    await expect.poll(() => page.isVisible('#hint')).toBe(true);
    expect((await page.textContent('#hint'))?.length).toBeGreaterThan(4);
  });
});
