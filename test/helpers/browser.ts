// Browser tests' plumbing: a real `crackscope serve` daemon on a free port, and Debian's Chromium
// driven by playwright-core (never a downloaded browser), with touch enabled and real touch
// events sent through the DevTools protocol.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../server/config/schema.js';
import { writeTinyModel } from './tiny-model.js';

export const CHROMIUM = process.env.CRACKSCOPE_CHROMIUM ?? '/usr/bin/chromium';
/** The tree whose compiled daemon the tests run (override to test another checkout's build). */
export const ROOT = process.env.CRACKSCOPE_TEST_ROOT ?? PROJECT_ROOT;
export const MAIN_JS = path.join(ROOT, 'dist', 'server', 'cli', 'main.js');

export const haveChromium = () => fs.existsSync(CHROMIUM);

/** Builds the kiosk bundle (about a second) and checks the compiled daemon is there. */
export function ensureBuilt(): void {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-kiosk.mjs')], { stdio: 'ignore' });
  if (!fs.existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} missing: run npm run build first`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export interface DaemonOptions {
  source: string;
  /** a directory holding models (default: the project's models/, i.e. the shipped crack model) */
  modelsDir?: string;
  dataDir?: string;
  port?: number;
  extraArgs?: string[];
}

export interface Daemon {
  url: string;
  port: number;
  dataDir: string;
  modelsDir: string;
  proc: ChildProcess;
  log: string[];
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** starts the same daemon again on the same port and data dir */
  restart(): Promise<Daemon>;
}

/** A temp models dir with the tiny test model (its mask is the image brightness). */
export function tinyModelsDir(width = 320, height = 256): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-models-'));
  writeTinyModel(dir, 'tiny', { width, height, mode: 'mean' });
  return dir;
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cs-data-'));
  const modelsDir = opts.modelsDir ?? path.join(ROOT, 'models');
  const args = [MAIN_JS, 'serve', '--source', opts.source, '--port', String(port), '--listen', '127.0.0.1', '--data-dir', dataDir, '--models-dir', modelsDir, '--providers', 'cpu', ...(opts.extraArgs ?? [])];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NOTIFY_SOCKET: '' } });
  const log: string[] = [];
  const onData = (d: Buffer) => log.push(...d.toString().split('\n').filter(Boolean));
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`daemon exited ${proc.exitCode}:\n${log.slice(-20).join('\n')}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`daemon not healthy within 30 s:\n${log.slice(-20).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  const d: Daemon = {
    url,
    port,
    dataDir,
    modelsDir,
    proc,
    log,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill(signal);
        const t = setTimeout(() => proc.kill('SIGKILL'), 6000);
        await exited;
        clearTimeout(t);
      }
    },
    restart: () => startDaemon({ ...opts, port, dataDir, modelsDir }),
  };
  return d;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
}

export async function openKiosk(browser: Browser, url: string, opts: { width?: number; height?: number; query?: string } = {}): Promise<{ context: BrowserContext; page: Page; cdp: CDPSession; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1024, height: opts.height ?? 640 }, hasTouch: true, deviceScaleFactor: 1, acceptDownloads: true });
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
export function countColour(img: { data: Uint8Array; width: number; height: number }, rgb: [number, number, number], tol = 40, rect?: { x: number; y: number; w: number; h: number }): number {
  const x0 = rect?.x ?? 0, y0 = rect?.y ?? 0, x1 = rect ? rect.x + rect.w : img.width, y1 = rect ? rect.y + rect.h : img.height;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * img.width + x) * 4;
      if (Math.abs(img.data[i] - rgb[0]) <= tol && Math.abs(img.data[i + 1] - rgb[1]) <= tol && Math.abs(img.data[i + 2] - rgb[2]) <= tol) n++;
    }
  }
  return n;
}
