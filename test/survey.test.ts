// crackscope survey on a 12000×9000 synthetic wall (108 MP, a pyramidal tiled TIFF) with the tiny
// test model, whose mask is known exactly (mask = brightness): the real CLI, real libvips, real
// onnxruntime, real Chromium for the PDF. Checks the mask against the image everywhere (any
// misplaced tile or seam would show), the crack map against the drawn cracks, the memory bound,
// every output, Ctrl-C, bad inputs and calibration.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAIN, runCli } from './helpers/daemon.js';
import { haveChromium } from './helpers/browser.js';
import { polylineLength, wavyCracks, writeBrightCrackImage, type TruthCrack } from './helpers/synthetic-wall.js';
import { writeTinyModel } from './helpers/tiny-model.js';
import { distToPolyline } from './helpers/geometry.js';

const W = 12000,
  H = 9000,
  MM_PER_PX = 0.04;
/** the bound stated in BENCHMARKS.md for 100 MP with the tiny model (the model's own memory comes on top) */
const RSS_BOUND_MB = 1024;

let tmp: string, modelsDir: string, wall: string, out: string;
let truth: TruthCrack[];
let run: { code: number | null; stdout: string; stderr: string };
let summary: any;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-survey-'));
  modelsDir = path.join(tmp, 'models');
  writeTinyModel(modelsDir, 'tiny', { dynamic: true, mode: 'max', width: 640, height: 384 });
  // widths 3..9 px at 0.04 mm/px: 0.12, 0.2, 0.28, 0.36 mm → classes fine, fine, fine, medium
  truth = wavyCracks(W, H, 6, 11, [3, 5, 7, 9]);
  wall = path.join(tmp, 'wall.tif');
  await writeBrightCrackImage(wall, W, H, truth, { tiff: 'pyramid' });
  out = path.join(tmp, 'out');
  run = await runCli(['survey', wall, '--out', out, '--models-dir', modelsDir, '--providers', 'cpu', '--mm-per-px', String(MM_PER_PX), '--json'], {
    timeoutMs: 400_000,
  });
  if (run.code === 0) summary = JSON.parse(fs.readFileSync(path.join(out, 'wall', 'survey.json'), 'utf8'));
}, 500_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const nearestTruth = (bbox: { x: number; y: number; w: number; h: number }) => {
  const cy = bbox.y + bbox.h / 2;
  return truth.reduce(
    (best, t) => {
      const ys = t.points.map((p) => p[1]);
      const d = Math.abs((Math.min(...ys) + Math.max(...ys)) / 2 - cy);
      return d < best.d ? { t, d } : best;
    },
    { t: truth[0], d: Infinity },
  ).t;
};

describe('survey of a 12000×9000 wall (tiny model: exact mask known)', () => {
  test('exits 0 with one JSON summary line; the plain progress line went to stderr', () => {
    expect(run.code, run.stderr).toBe(0);
    const j = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(j.surveyed).toBe(1);
    expect(j.surveys[0].cracks).toBe(6);
    expect(run.stderr).toMatch(/survey: .*wall\.tif: tiles \d+% \d+\/285/);
    expect(run.stderr).not.toMatch(/\r/); // no bar when stderr is not a terminal
  });

  test('the mask equals the model on the whole image at once: identical to the image brightness at every pixel', async () => {
    const mask = path.join(out, 'wall', 'mask.tif');
    const meta = await sharp(mask).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([W, H, 1]);
    const grey = path.join(tmp, 'grey.tif');
    await sharp(wall).extractChannel(0).toColourspace('b-w').tiff({ compression: 'none' }).toFile(grey);
    // (stats() reads its input, not the pipeline's result: write the XOR out first)
    const xorFile = path.join(tmp, 'xor.tif');
    await sharp(mask).boolean(grey, 'eor').extractChannel(0).toColourspace('b-w').tiff({ compression: 'deflate' }).toFile(xorFile);
    const xor = await sharp(xorFile).stats();
    expect(xor.channels[0].max).toBe(0);
    // the check itself can fail: one pixel changed in the image is seen
    const bumped = path.join(tmp, 'grey-bumped.tif');
    await sharp(grey)
      .composite([{ input: { create: { width: 1, height: 1, channels: 3, background: '#ffffff' } }, left: 6400, top: 3840 }])
      .extractChannel(0)
      .toColourspace('b-w')
      .tiff({ compression: 'none' })
      .toFile(bumped);
    const xorBumped = path.join(tmp, 'xor-bumped.tif');
    await sharp(mask).boolean(bumped, 'eor').extractChannel(0).toColourspace('b-w').tiff({ compression: 'deflate' }).toFile(xorBumped);
    expect((await sharp(xorBumped).stats()).channels[0].max).toBeGreaterThan(0);
    // and the mask is not trivially empty
    const st = await sharp(mask).stats();
    expect(st.channels[0].max).toBeGreaterThan(200);
  });

  test('every drawn crack is found once, its length within 1 %, its widths right', () => {
    expect(summary.cracks).toHaveLength(truth.length);
    const matched = new Set<TruthCrack>();
    for (const c of summary.cracks) {
      const t = nearestTruth(c.bbox);
      matched.add(t);
      expect(Math.abs(c.length_px - t.length) / t.length).toBeLessThan(0.01);
      expect(c.branches).toBe(1);
      expect(c.endpoints).toBe(2);
      expect(Math.abs(c.max_width_px - t.width)).toBeLessThanOrEqual(1);
      // 2·d − 1 reads slanted pixels up to about one pixel low
      expect(c.mean_width_px).toBeGreaterThan(t.width - 1.2);
      expect(c.mean_width_px).toBeLessThanOrEqual(t.width + 0.01);
      expect(c.length_mm).toBeCloseTo(c.length_px * MM_PER_PX, 1);
      const cls = c.mean_width_mm < 0.1 ? 'hairline' : c.mean_width_mm < 0.3 ? 'fine' : c.mean_width_mm < 1 ? 'medium' : 'wide';
      expect(c.width_class).toBe(cls);
    }
    expect(matched.size).toBe(truth.length);
    const total = truth.reduce((s, t) => s + t.length, 0);
    expect(Math.abs(summary.totals.length_px - total) / total).toBeLessThan(0.01);
    const classSum = summary.width_classes.reduce((s: number, c: any) => s + c.length_mm, 0);
    expect(classSum).toBeCloseTo(summary.totals.length_mm, 0);
    expect(summary.width_classes.map((c: any) => c.name)).toEqual(['hairline', 'fine', 'medium', 'wide', 'open']);
    expect(summary.width_classes.find((c: any) => c.name === 'medium').branches).toBeGreaterThan(0);
  });

  test(`peak RSS stays under ${RSS_BOUND_MB} MB for 108 MP`, () => {
    expect(summary.peak_rss_mb).toBeGreaterThan(50);
    expect(summary.peak_rss_mb).toBeLessThan(RSS_BOUND_MB);
  });

  test('GeoJSON: one LineString per branch in image pixels, with lengths, widths in px and mm and a width class', () => {
    const geo = JSON.parse(fs.readFileSync(path.join(out, 'wall', 'crackmap.geojson'), 'utf8'));
    expect(geo.type).toBe('FeatureCollection');
    expect(geo.crackscope.image).toEqual({ width: W, height: H });
    expect(geo.features).toHaveLength(6);
    for (const f of geo.features) {
      expect(f.geometry.type).toBe('LineString');
      const pts = f.geometry.coordinates as [number, number][];
      expect(pts.length).toBeGreaterThan(20);
      for (const [x, y] of pts) {
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(W);
        expect(y).toBeGreaterThanOrEqual(0);
        expect(y).toBeLessThanOrEqual(H);
      }
      expect(polylineLength(pts)).toBeCloseTo(f.properties.length_px, 0);
      expect(f.properties.length_mm).toBeCloseTo(f.properties.length_px * MM_PER_PX, 2);
      const mm = f.properties.mean_width_mm;
      expect(f.properties.width_class).toBe(mm < 0.1 ? 'hairline' : mm < 0.3 ? 'fine' : mm < 1 ? 'medium' : 'wide');
      // the line runs along the drawn crack: every vertex within 2 px of the truth polyline
      const t = nearestTruth({ x: 0, y: Math.min(...pts.map((p) => p[1])), w: 0, h: Math.max(...pts.map((p) => p[1])) - Math.min(...pts.map((p) => p[1])) });
      for (const p of pts.filter((_, i) => i % 7 === 0)) expect(distToPolyline(p, t.points)).toBeLessThan(2);
    }
  });

  test('SVG: the image size, one layer per width class, one polyline per branch', () => {
    const svg = fs.readFileSync(path.join(out, 'wall', 'crackmap.svg'), 'utf8');
    expect(svg).toContain(`viewBox="0 0 ${W} ${H}"`);
    expect(svg.match(/<polyline /g)).toHaveLength(6);
    expect(svg).toMatch(/inkscape:label="fine \(0\.1–0\.3 mm\)"/);
    expect(svg).toMatch(/inkscape:label="medium \(0\.3–1 mm\)"/);
    expect(svg).toContain('href="overview.jpg"');
  });

  test('DZI pyramid: the full size at the top level, down to one pixel', async () => {
    const dzi = fs.readFileSync(path.join(out, 'wall', 'dzi', 'image.dzi'), 'utf8');
    expect(dzi).toMatch(new RegExp(`Height="${H}"`));
    expect(dzi).toMatch(new RegExp(`Width="${W}"`));
    const levels = fs
      .readdirSync(path.join(out, 'wall', 'dzi', 'image_files'))
      .filter((f) => /^\d+$/.test(f))
      .map(Number)
      .sort((a, b) => a - b);
    expect(levels[0]).toBe(0);
    expect(levels.at(-1)).toBe(Math.ceil(Math.log2(W)));
    const top = await sharp(path.join(out, 'wall', 'dzi', 'image_files', String(levels.at(-1)), '0_0.jpeg')).metadata();
    expect(top.width).toBe(255); // 254 + 1 overlap
  });

  test('overlay and overview', async () => {
    const ov = await sharp(path.join(out, 'wall', 'overlay.jpg')).metadata();
    expect([ov.width, ov.height]).toEqual([W, H]);
    const small = await sharp(path.join(out, 'wall', 'overview.jpg')).metadata();
    expect(Math.max(small.width!, small.height!)).toBe(2048);
    // a crack pixel of the overlay is magenta
    const t = truth[3],
      [x, y] = t.points[Math.floor(t.points.length / 2)];
    const px = await sharp(path.join(out, 'wall', 'overlay.jpg'))
      .extract({ left: Math.round(x) - 1, top: Math.round(y) - 1, width: 3, height: 3 })
      .raw()
      .toBuffer();
    const i = 4 * 3; // centre pixel
    expect(px[i]).toBeGreaterThan(200);
    expect(px[i + 1]).toBeLessThan(120);
    expect(px[i + 2]).toBeGreaterThan(200);
  });

  test('report: self-contained HTML with the map, totals, table, model, calibration and checksum; a PDF printed by Chromium', async () => {
    const html = fs.readFileSync(path.join(out, 'wall', 'report.html'), 'utf8');
    expect(html).not.toMatch(/<(script|link)\b/i);
    expect(html).not.toMatch(/(src|href)="(?!data:|#)/);
    expect(html).toContain(summary.input.sha256);
    expect(summary.input.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(html).toContain('tiny 0.0.1-test on CPU');
    expect(html).toContain(`${MM_PER_PX} mm per image pixel`);
    expect(html.match(/<tr><td>\d+<\/td>/g)).toHaveLength(6);
    expect(html).toMatch(/<td><span class="sw" style="background:#fdae61"><\/span>medium<\/td>/);
    if (!haveChromium()) return;
    const pdf = fs.readFileSync(path.join(out, 'wall', 'report.pdf'));
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(20_000);
  });

  test('nothing but the survey folder is left in --out', () => {
    expect(fs.readdirSync(out)).toEqual(['wall']);
    expect(fs.readdirSync(path.join(out, 'wall')).sort()).toEqual([
      'crackmap.geojson',
      'crackmap.svg',
      'dzi',
      'mask.tif',
      'overlay.jpg',
      'overview.jpg',
      'report.html',
      'report.pdf',
      'survey.json',
    ]);
  });

  test('Ctrl-C during the tiles: exit 130, the earlier survey of the same image untouched, nothing half-written', async () => {
    const before = fs.readFileSync(path.join(out, 'wall', 'survey.json'), 'utf8');
    const child = spawn(process.execPath, [MAIN, 'survey', wall, '--out', out, '--models-dir', modelsDir, '--providers', 'cpu', '--no-pdf'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        if (/tiles \d+%/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted; removing the unfinished output/);
    expect(fs.readdirSync(out)).toEqual(['wall']);
    expect(fs.readFileSync(path.join(out, 'wall', 'survey.json'), 'utf8')).toBe(before);
  }, 120_000);
});

describe('survey: inputs, errors and calibration', () => {
  let dir: string;
  beforeAll(async () => {
    dir = path.join(tmp, 'folder');
    fs.mkdirSync(dir, { recursive: true });
    const small = wavyCracks(1400, 1000, 2, 5, [5]);
    await writeBrightCrackImage(path.join(dir, 'a.png'), 1400, 1000, small);
    fs.writeFileSync(path.join(dir, 'b-broken.jpg'), Buffer.from('not a jpeg at all'));
    await sharp(path.join(dir, 'a.png')).jpeg().toFile(path.join(dir, 'c.jpg'));
  }, 60_000);

  test('a folder goes on past a bad file, names it in one line, and exits 1', async () => {
    const o = path.join(tmp, 'out-folder');
    const r = await runCli(['survey', dir, '--out', o, '--models-dir', modelsDir, '--providers', 'cpu', '--no-pdf'], { timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    const errs = r.stderr.split('\n').filter((l) => l.startsWith('crackscope survey:'));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/b-broken\.jpg: (not an image|cannot)/);
    expect(fs.readdirSync(o).sort()).toEqual(['a', 'c']);
    expect(r.stdout).toMatch(/a\.png: 2 cracks/);
    expect(r.stdout).toMatch(/c\.jpg: 2 cracks/);
  }, 150_000);

  test('usage and config errors: 64 without an image, with both scales or for a bad value (its flag named), 78 for an unknown calibration', async () => {
    expect((await runCli(['survey'])).code).toBe(64);
    const both = await runCli(['survey', wall, '--mm-per-px', '0.1', '--calibration', 'x']);
    expect(both.code).toBe(64);
    const badTile = await runCli(['survey', wall, '--tile', '100', '--models-dir', modelsDir]);
    expect(badTile.code).toBe(64);
    expect(badTile.stderr.trim().split('\n')[0]).toMatch(/option '--tile <n>' argument '100' is invalid\. expected a multiple of 32/);
    const badClasses = await runCli(['survey', wall, '--width-classes', 'a:1,b:0.5,c', '--models-dir', modelsDir]);
    expect(badClasses.code).toBe(64);
    expect(badClasses.stderr).toMatch(/--width-classes/);
    const unknownCal = await runCli(['survey', wall, '--calibration', 'nope', '--data-dir', tmp, '--models-dir', modelsDir]);
    expect(unknownCal.code).toBe(78);
    expect(unknownCal.stderr).toMatch(/--calibration = "nope" is not in/);
  }, 60_000);

  test('--calibration takes a stored calibration and scales it from the live mask to the image; custom width classes', async () => {
    const dataDir = path.join(tmp, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    // 0.5 mm per pixel on a 700×500 live mask = 0.25 mm per pixel on the 1400×1000 image
    fs.writeFileSync(
      path.join(dataDir, 'calibration.json'),
      JSON.stringify({ version: 1, sources: { 'v4l2:///dev/video0': { mmPerPx: 0.5, mask: { width: 700, height: 500 }, updatedAt: '2026-01-01T00:00:00Z' } } }),
    );
    const o = path.join(tmp, 'out-cal');
    const r = await runCli(
      [
        'survey',
        path.join(dir, 'a.png'),
        '--out',
        o,
        '--models-dir',
        modelsDir,
        '--providers',
        'cpu',
        '--no-pdf',
        '--data-dir',
        dataDir,
        '--calibration',
        'v4l2:///dev/video0',
        '--width-classes',
        'narrow:1,broad',
      ],
      { timeoutMs: 120_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(fs.readFileSync(path.join(o, 'a', 'survey.json'), 'utf8'));
    expect(s.calibration.mmPerPx).toBeCloseTo(0.25, 6);
    expect(s.calibration.source).toMatch(/scaled to this image's width/);
    expect(s.width_classes.map((c: any) => c.name)).toEqual(['narrow', 'broad']);
    // 5 px ≈ 1.0–1.25 mm mean width → broad
    for (const c of s.cracks) expect(c.width_class).toBe(c.mean_width_mm < 1 ? 'narrow' : 'broad');
  }, 150_000);
});
