// Campaigns seen from the kiosk and in the chosen language (issues 19 and 22), on a real
// redis-server of the test's own (free loopback port): `serve --worker-redis` surveys a campaign
// of two photographs and a corrupt one; GET /api/campaigns gives its counts from Redis, the
// gallery in Chromium shows it with a progress bar in English and in French; a service without a
// campaign Redis answers enabled:false and the gallery shows nothing more. Then `campaign report
// --lang`: English by default, French (words and decimal commas, and its PDF), Arabic (right to
// left, its plural forms); axe-core over the gallery with the campaign; an unknown language is exit 78; --lang on `campaign add` is a usage error.
// CRACKSCOPE_SCREENSHOTS=1 writes kiosk/screenshots/gallery-campaigns.png.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startDaemon, type Daemon } from './helpers/daemon.js';
import { ensureBuilt, haveChromium, launchBrowser, openKiosk, ROOT } from './helpers/browser.js';
import { haveRedis, startRedis, type TestRedis } from './helpers/redis.js';
import { tinyCampaignAdd } from './helpers/campaign-args.js';
import { writeTinyModel } from './helpers/tiny-model.js';
import { wavyCracks, writeBrightCrackImage } from './helpers/synthetic-wall.js';

const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = process.env.CRACKSCOPE_SCREENSHOTS ? path.join(ROOT, 'kiosk', 'screenshots') : null;
let redis: TestRedis, tmp: string, modelsDir: string, out: string, daemon: Daemon | undefined, plain: Daemon | undefined, browser: Browser | undefined;

const cli = (args: string[], timeoutMs = 120_000) => runCli([...args, '--models-dir', modelsDir, '--providers', 'cpu'], { timeoutMs });
const getJson = async (url: string) => {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as any };
};

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 150_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  if (!haveRedis()) throw new Error('redis-server is not installed (apt-get install redis-server; scripts/setup.sh --test does it)');
  ensureBuilt();
  redis = await startRedis();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-campaign-kiosk-'));
  modelsDir = path.join(tmp, 'models');
  writeTinyModel(modelsDir, 'tiny', { dynamic: true, mode: 'max', width: 320, height: 256 });
  out = path.join(tmp, 'out');
  fs.mkdirSync(path.join(tmp, 'photos'));
  for (const i of [1, 2]) await writeBrightCrackImage(path.join(tmp, 'photos', `facade-${i}.png`), 512, 384, wavyCracks(512, 384, 3, i, [4, 6]));
  fs.writeFileSync(path.join(tmp, 'photos', 'broken.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(3000, 7)]));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await daemon?.stop();
  await plain?.stop();
  await redis?.stop();
  if (redis) fs.rmSync(redis.dir, { recursive: true, force: true });
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('campaigns in the kiosk gallery and campaign report --lang', () => {
  it('serve --worker-redis: /api/campaigns counts from Redis; the gallery shows the campaign and its progress', async () => {
    const add = await cli(tinyCampaignAdd('facades', path.join(tmp, 'photos'), redis.url, out, '--attempts', '1', '--mm-per-px', '0.1'));
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/campaign facades: 3 images added/);
    // the daemon's own campaign worker surveys them (--worker-idle-s 0: it does not wait for the visitor below)
    daemon = await startDaemon([
      '--source',
      'test://',
      '--models-dir',
      modelsDir,
      '--model',
      'tiny',
      '--providers',
      'cpu',
      '--threads',
      '1',
      '--worker-redis',
      redis.url,
      '--worker-idle-s',
      '0',
    ]);
    const list = await waitFor('the campaign to finish, seen through /api/campaigns', async () => {
      const r = await getJson(`${daemon!.url}/api/campaigns`);
      expect(r.status).toBe(200);
      const c = r.body.campaigns?.[0];
      return c && c.counts.done + c.counts.failed === 3 ? r.body : undefined;
    });
    expect(list.enabled).toBe(true);
    expect(list.campaigns).toHaveLength(1);
    expect(list.campaigns[0]).toMatchObject({
      name: 'facades',
      model: expect.stringMatching(/^tiny /),
      base: null,
      counts: { total: 3, done: 2, failed: 1, waiting: 0, active: 0 },
    });
    expect(list.campaigns[0].megapixels.done).toBeCloseTo((2 * 512 * 384) / 1e6, 1);
    expect(JSON.stringify(list)).not.toContain(String(redis.port)); // the Redis URL stays on the server

    if (!haveChromium()) return;
    browser = await launchBrowser();
    for (const lang of ['en', 'fr']) {
      const { context, page, errors } = await openKiosk(browser, daemon.url, { query: `lang=${lang}&idle=600`, width: 1280, height: 800, locale: 'en-US' });
      await page.click('#btn-gallery');
      const item = page.locator('#campaign-list li[data-campaign="facades"]');
      await item.waitFor({ timeout: 15_000 });
      expect(await page.isVisible('#campaigns-title')).toBe(true);
      expect(await page.textContent('#campaigns-title')).toBe(lang === 'fr' ? 'Campagnes' : 'Campaigns');
      const text = await item.textContent();
      expect(text).toContain(lang === 'fr' ? '2 sur 3 terminées' : '2 of 3 done');
      expect(text).toContain(lang === 'fr' ? '1 en échec' : '1 failed');
      expect(await item.locator('.chip[data-state="failed"]').count()).toBe(1);
      expect(await item.locator('.chip[data-state="waiting"]').count()).toBe(0);
      const bar = await item.locator('progress').evaluate((p: HTMLProgressElement) => ({ value: p.value, max: p.max, label: p.getAttribute('aria-label') }));
      expect(bar).toEqual({
        value: 3,
        max: 3,
        label:
          lang === 'fr' ? 'Campagne facades : 2 terminées, 0 en cours, 0 en attente, 1 en échec' : 'Campaign facades: 2 done, 0 active, 0 waiting, 1 failed',
      });
      // the campaign list passes axe-core (WCAG 2.x A/AA): no serious or critical violation
      await page.evaluate(AXE);
      const axe = await page.evaluate(() =>
        (window as any).axe.run('#gallery', {
          runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
          resultTypes: ['violations'],
        }),
      );
      expect(
        axe.violations
          .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
          .map((v: any) => `${v.id}: ${v.nodes.map((n: any) => n.target.join(' ')).join(', ')}`),
      ).toEqual([]);
      expect(errors).toEqual([]);
      await context.close();
    }

    // a second campaign while the gallery is open: it appears by the gallery's own polling, with its
    // active and waiting photographs, and the counts always add up
    fs.mkdirSync(path.join(tmp, 'piers'));
    for (let i = 0; i < 6; i++) await writeBrightCrackImage(path.join(tmp, 'piers', `pier-${i}.png`), 640, 480, wavyCracks(640, 480, 3, 50 + i, [4, 6]));
    const { context, page, errors } = await openKiosk(browser, daemon.url, { query: 'lang=en&idle=600', width: 1280, height: 800, locale: 'en-US' });
    await page.click('#btn-gallery');
    await page.locator('#campaign-list li[data-campaign="facades"]').waitFor({ timeout: 15_000 });
    const add2 = await cli(tinyCampaignAdd('piers', path.join(tmp, 'piers'), redis.url, out, '--mm-per-px', '0.1'));
    expect(add2.code, add2.stderr).toBe(0);
    const piers = page.locator('#campaign-list li[data-campaign="piers"]');
    await piers.waitFor({ timeout: 15_000 }); // within one poll (5 s) and the server's 2 s cache
    const shown = await piers.evaluate((li) => ({
      text: li.textContent ?? '',
      chips: Object.fromEntries(Array.from(li.querySelectorAll<HTMLElement>('.chip')).map((c) => [c.dataset.state, Number.parseInt(c.textContent ?? '', 10)])),
      bar: { value: (li.querySelector('progress') as HTMLProgressElement).value, max: (li.querySelector('progress') as HTMLProgressElement).max },
    }));
    const done = Number(shown.text.match(/(\d+) of 6 done/)?.[1]);
    expect(shown.bar.max).toBe(6);
    expect(done + (shown.chips.active ?? 0) + (shown.chips.waiting ?? 0) + (shown.chips.failed ?? 0)).toBe(6);
    expect(shown.bar.value).toBe(done + (shown.chips.failed ?? 0));
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'gallery-campaigns.png') });
    // and the gallery follows the campaign to its end
    await page.waitForFunction(() => document.querySelector('#campaign-list li[data-campaign="piers"]')?.textContent?.includes('6 of 6 done'), null, {
      timeout: 150_000,
      polling: 1000,
    });
    expect(await piers.locator('.chip').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  }, 400_000);

  it('without a campaign Redis: enabled false, an empty list, and no campaign section in the gallery', async () => {
    plain = await startDaemon(['--source', 'test://', '--models-dir', modelsDir, '--model', 'tiny', '--providers', 'cpu', '--threads', '1']);
    expect(await getJson(`${plain.url}/api/campaigns`)).toEqual({ status: 200, body: { enabled: false, campaigns: [] } });
    if (!haveChromium()) return;
    browser ??= await launchBrowser();
    const { context, page } = await openKiosk(browser, plain.url, { query: 'lang=en&idle=600', width: 1280, height: 800, locale: 'en-US' });
    await page.click('#btn-gallery');
    await page.waitForResponse((r) => r.url().endsWith('/api/campaigns'), { timeout: 10_000 }).catch(() => undefined);
    await page.waitForTimeout(500);
    expect(await page.isVisible('#campaigns-title')).toBe(false);
    expect(await page.locator('#campaign-list li').count()).toBe(0);
    await context.close();
  }, 120_000);

  it('campaign report --lang: English by default, French words and decimal commas (and its PDF), Arabic right to left', async () => {
    const report = async (lang: string[], pdf = false) => {
      const r = await cli(['campaign', 'report', 'facades', '--redis', redis.url, ...(pdf ? [] : ['--no-pdf']), ...lang], 180_000);
      expect(r.code, r.stderr).toBe(0);
      return fs.readFileSync(path.join(out, 'facades', 'campaign-report.html'), 'utf8');
    };
    const en = await report([]);
    const withPdf = haveChromium();
    const fr = await report(['--lang', 'fr'], withPdf);
    if (withPdf) expect(fs.statSync(path.join(out, 'facades', 'campaign-report.pdf')).size).toBeGreaterThan(5000);
    const ar = await report(['--lang', 'ar']);
    // the figures to look for, from the campaign's own files
    const status = JSON.parse(fs.readFileSync(path.join(out, 'facades', 'campaign.json'), 'utf8'));
    const survey = JSON.parse(fs.readFileSync(path.join(out, 'facades', 'facade-1', 'survey.json'), 'utf8'));
    const mp = (status.megapixels.total as number).toFixed(1);
    const metres = ((survey.totals.length_mm as number) / 1000).toFixed(3);
    expect(mp).toMatch(/\./);

    expect(en).toContain('<html lang="en" dir="ltr">');
    expect(en).toContain('<h1>Survey campaign facades</h1>');
    expect(en).toContain(`3 images (${mp} MP): 2 surveyed, 1 failed, 0 still to do.`);
    expect(en).toContain(`<td>${metres}</td>`);
    expect(en).toMatch(/<b>broken<\/b> \(<bdi dir="ltr">[^)]*broken\.jpg<\/bdi>\), after 1 attempt: /);

    expect(fr).toContain('<html lang="fr" dir="ltr">');
    expect(fr).toContain('<title>Campagne facades</title>');
    expect(fr).toContain('<h1>Campagne de relevés facades</h1>');
    expect(fr).toContain(`3 images (${mp.replace('.', ',')} Mpx) : 2 relevées, 1 en échec, 0 encore à faire.`);
    expect(fr).toContain(`<td>${metres.replace('.', ',')}</td>`);
    expect(fr).not.toContain(`<td>${metres}</td>`);
    expect(fr).toContain('<th>classe</th><th>largeur</th>');
    expect(fr).toContain('<td><bdi dir="ltr">&lt; 0,1 mm</bdi></td>'); // the width class's range in French figures too
    expect(fr).toMatch(/<b>broken<\/b> \([^)]*\), après 1 essai : /);
    expect(fr).not.toMatch(/Survey campaign|surveyed|still to do|Failures/);

    expect(ar).toContain('<html lang="ar" dir="rtl">');
    expect(ar).toContain('<h1>حملة المسح facades</h1>');
    expect(ar).toContain('<h2>الصور</h2>');
    expect(ar).toContain('بعد محاولة واحدة: '); // Arabic's "one" form, not "1 محاولة"
    expect(ar).toContain('<td>فاشلة</td>');
    // left-to-right runs stay whole and in order inside the right-to-left page: 512×384, not 384×512
    expect(ar).toContain('<td><bdi dir="ltr">512×384</bdi></td>');
    expect(ar).toMatch(/<td><bdi dir="ltr">&lt; 0\.1 mm<\/bdi><\/td>/);
    expect(ar).not.toMatch(/Survey campaign|surveyed/);
  }, 300_000);

  it('campaign report --lang xx: one line, exit 78; --lang on campaign add: usage, exit 64', async () => {
    const bad = await cli(['campaign', 'report', 'facades', '--redis', redis.url, '--no-pdf', '--lang', 'xx']);
    expect(bad.code).toBe(78);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/--lang = "xx" has no catalogue; expected one of .*ar, en, fr, ja, zh/)]);
    const usage = await cli(['campaign', 'add', 'facades', path.join(tmp, 'photos'), '--redis', redis.url, '--lang', 'fr']);
    expect(usage.code).toBe(64);
    expect(usage.stderr).toMatch(/--lang is for campaign report/);
  }, 120_000);
});
