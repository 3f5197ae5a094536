// Browser tests' plumbing: a real `crackscope serve` daemon on a free port, and Debian's Chromium
// driven by playwright-core (never a downloaded browser), with touch enabled and real touch
// events sent through the DevTools protocol.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { writeTinyModel } from './tiny-model.js';
import { need } from './need.js';
import { freePort, MAIN, ROOT, startDaemon as startServe, type Daemon as ServeDaemon } from './daemon.js';

export { freePort, ROOT };

/** Chromium: CRACKSCOPE_CHROMIUM, else the first of the usual names on PATH (Debian: chromium). */
export const CHROMIUM =
  process.env.CRACKSCOPE_CHROMIUM ?? findOnPath(['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome']) ?? '/usr/bin/chromium';

function findOnPath(names: string[]): string | undefined {
  for (const name of names) {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
      const p = path.join(dir, name);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return p;
      } catch {
        /* not here */
      }
    }
  }
  return undefined;
}

/** Whether Chromium is here; in CI its absence fails the suite instead of skipping it. */
export const haveChromium = () =>
  need('Chromium', fs.existsSync(CHROMIUM), `looked for ${CHROMIUM}; Debian package chromium, or CRACKSCOPE_CHROMIUM=/path/to/chrome`);

/** Builds the kiosk bundle (about a second) and checks the compiled daemon is there. */
export function ensureBuilt(): void {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-kiosk.mjs')], { stdio: 'ignore' });
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} missing: run npm run build first`);
}

export interface DaemonOptions {
  source: string;
  /** a directory holding models (default: the project's models/, i.e. the shipped crack model) */
  modelsDir?: string;
  dataDir?: string;
  port?: number;
  extraArgs?: string[];
}

export interface Daemon extends ServeDaemon {
  modelsDir: string;
  /** starts the same daemon again on the same port and data dir */
  restart(): Promise<Daemon>;
}

/** A temp models dir with the tiny test model (its mask is the image brightness). */
export function tinyModelsDir(width = 320, height = 256): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-models-'));
  writeTinyModel(dir, 'tiny', { width, height, mode: 'mean' });
  return dir;
}

/** The real daemon on a fixed free port (so a restart keeps the page's URL), healthy before it returns. */
export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const port = opts.port ?? (await freePort());
  const modelsDir = opts.modelsDir ?? path.join(ROOT, 'models');
  const d = await startServe(['--source', opts.source, '--models-dir', modelsDir, '--providers', 'cpu', ...(opts.extraArgs ?? [])], {
    port,
    dataDir: opts.dataDir,
    env: { NOTIFY_SOCKET: '' },
  });
  const deadline = Date.now() + 30_000;
  while (
    (await fetch(`${d.url}/healthz`).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  ) {
    if (Date.now() > deadline) {
      await d.stop('SIGKILL');
      throw new Error(`daemon not healthy within 30 s:\n${d.stderr().slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return { ...d, modelsDir, restart: () => startDaemon({ ...opts, port, dataDir: d.dataDir, modelsDir }) };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-gl=angle',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
    ],
  });
}

/**
 * A kiosk page in a fresh touch context. `locale` is the browser's language (navigator.languages),
 * which picks the kiosk's language when neither the URL nor the config does (issue 22); the suites
 * written for the Chinese gallery kiosk run in a Chinese browser by default.
 */
export async function openKiosk(
  browser: Browser,
  url: string,
  opts: { width?: number; height?: number; query?: string; locale?: string; reducedMotion?: 'reduce' | 'no-preference' } = {},
): Promise<{ context: BrowserContext; page: Page; cdp: CDPSession; errors: string[] }> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1024, height: opts.height ?? 640 },
    hasTouch: true,
    deviceScaleFactor: 1,
    acceptDownloads: true,
    locale: opts.locale ?? 'zh-CN',
    reducedMotion: opts.reducedMotion,
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${url}/${opts.query ? `?${opts.query}` : ''}`);
  const cdp = await context.newCDPSession(page);
  return { context, page, cdp, errors };
}

/** Waits until the page has drawn at least `n` live frames. */
export async function waitFrames(page: Page, n = 3, timeout = 20_000): Promise<void> {
  await page.waitForFunction((k) => (window as any).__crackscope?.stats.framesShown >= k, n, { timeout, polling: 100 });
}

type TouchPoint = { x: number; y: number; id: number };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A real multi-touch gesture via CDP: each finger moves linearly from its start to its end point in
 * `steps` steps; `holdMs` pauses before lifting (no inertia when > 100 ms).
 */
export async function touchGesture(cdp: CDPSession, fingers: { from: [number, number]; to: [number, number] }[], steps = 12, holdMs = 150): Promise<void> {
  const at = (k: number): TouchPoint[] =>
    fingers.map((f, id) => ({ id, x: f.from[0] + ((f.to[0] - f.from[0]) * k) / steps, y: f.from[1] + ((f.to[1] - f.from[1]) * k) / steps }));
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: at(0) });
  for (let k = 1; k <= steps; k++) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: at(k) });
    await sleep(16);
  }
  await sleep(holdMs);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
}

export async function tap(cdp: CDPSession, x: number, y: number): Promise<void> {
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x, y, id: 0 }] });
  await sleep(30);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
}

/** RGBA pixels of a PNG screenshot (decoded with sharp). */
export async function screenshotPixels(page: Page): Promise<{ data: Uint8Array; width: number; height: number }> {
  const sharp = (await import('sharp')).default;
  const png = await page.screenshot({ type: 'png' });
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/** Number of pixels within `tol` of colour (r, g, b), optionally inside a rectangle. */
export function countColour(
  img: { data: Uint8Array; width: number; height: number },
  rgb: [number, number, number],
  tol = 40,
  rect?: { x: number; y: number; w: number; h: number },
): number {
  const x0 = rect?.x ?? 0,
    y0 = rect?.y ?? 0,
    x1 = rect ? rect.x + rect.w : img.width,
    y1 = rect ? rect.y + rect.h : img.height;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * img.width + x) * 4;
      if (Math.abs(img.data[i] - rgb[0]) <= tol && Math.abs(img.data[i + 1] - rgb[1]) <= tol && Math.abs(img.data[i + 2] - rgb[2]) <= tol) n++;
    }
  }
  return n;
}

/** Resolves after the page has drawn twice more: whatever was changed before is on screen (no fixed sleep). */
export async function afterDraw(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
}

/**
 * Waits for a live frame whose mask has at least `minPixels` pixels ≥ 180 in the left `leftFraction`
 * of the mask, and freezes on it in the same page task (a frame arriving between the check and the
 * freeze cannot replace it). Returns the frozen frame's id. Throws if no such frame comes in time.
 */
export async function freezeOnCracks(page: Page, minPixels = 2000, leftFraction = 1, timeout = 30_000): Promise<number> {
  const handle = await page.waitForFunction(
    ({ min, left }) => {
      const k = (window as any).__crackscope;
      if (!k || k.state.mode !== 'live' || k.state.shownFrameId < 0) return false;
      const s = atob(k.mask());
      const w = k.state.mask.width;
      let n = 0;
      for (let i = 0; i < s.length; i++) if (i % w < left * w && s.charCodeAt(i) >= 180) n++;
      if (n < min) return false;
      k.freeze();
      return k.state.shownFrameId as number;
    },
    { min: minPixels, left: leftFraction },
    { timeout, polling: 100 },
  );
  const id = (await handle.jsonValue()) as number;
  await afterDraw(page);
  return id;
}

/**
 * A double tap: two 30 ms taps 50 ms apart, by the events' own timestamps (the kiosk times gestures
 * by event.timeStamp), so the page sees a double tap however late a loaded machine delivers them.
 */
export async function doubleTap(cdp: CDPSession, x: number, y: number): Promise<void> {
  await touchSequence(cdp, [
    [0, 'touchStart', x, y],
    [30, 'touchEnd'],
    [80, 'touchStart', x, y],
    [110, 'touchEnd'],
  ]);
}

/**
 * One finger's touch events, each stamped with its own time (ms after the first), sent back to back:
 * the gesture's timing is what the timestamps say, not how fast this process is scheduled.
 */
export async function touchSequence(
  cdp: CDPSession,
  events: [ms: number, type: 'touchStart' | 'touchMove' | 'touchEnd', x?: number, y?: number][],
): Promise<void> {
  const base = Date.now() / 1000;
  await Promise.all(
    events.map(([ms, type, x, y]) =>
      cdp.send('Input.dispatchTouchEvent', {
        type,
        timestamp: base + ms / 1000,
        touchPoints: type === 'touchEnd' ? [] : [{ id: 0, x: x!, y: y! }],
      }),
    ),
  );
}

/** Resolves once the view has not moved for `frames` consecutive animation frames (a glide has ended). */
export async function viewAtRest(page: Page, frames = 3, timeout = 15_000): Promise<void> {
  await page.evaluate(() => {
    delete (window as any).__restLast;
  });
  await page.waitForFunction(
    (need) => {
      const w = window as any;
      const v = w.__crackscope.view;
      const key = `${v.zoom},${v.panX},${v.panY}`;
      w.__restCount = w.__restLast === key ? w.__restCount + 1 : 0;
      w.__restLast = key;
      return w.__restCount >= need;
    },
    frames,
    { timeout, polling: 'raf' },
  );
}
