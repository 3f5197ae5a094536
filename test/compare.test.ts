// Comparison and shadow models against the real daemon (GStreamer source, onnxruntime sessions in
// worker threads, WebSocket clients), on a frame whose masks are known: the tiny test models' masks
// are mean(R,G,B) and max(R,G,B) of the image, so every pixel's answer is known beforehand.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectFrames, runCli, startDaemon, type Daemon } from './helpers/daemon.js';
import { writeTinyModel } from './helpers/tiny-model.js';

const W = 96,
  H = 64;
const T = 128; // threshold 0.5 of the tiny manifests, in mask units

/** Four quadrants: grey 200 (mean and max on), red (only max on), grey 100 (both off), blue 250 (only max on). */
function knownImage(): Buffer {
  const px = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const rgb = y < H / 2 ? (x < W / 2 ? [200, 200, 200] : [255, 0, 0]) : x < W / 2 ? [100, 100, 100] : [0, 0, 250];
      px.set(rgb, (y * W + x) * 3);
    }
  }
  return px;
}
const expectedMask = (px: Buffer, f: (r: number, g: number, b: number) => number) => {
  const m = new Uint8Array(W * H);
  for (let i = 0; i < m.length; i++) m[i] = f(px[3 * i], px[3 * i + 1], px[3 * i + 2]);
  return m;
};
const on = (m: Uint8Array) => m.reduce((n, v) => n + (v >= T ? 1 : 0), 0);
// mean on: the grey-200 quadrant (1536 px); max on: three quadrants (4608 px); both: 1536
const QUADRANT = (W / 2) * (H / 2);
const IOU = QUADRANT / (3 * QUADRANT);
const F1 = (2 * QUADRANT) / (QUADRANT + 3 * QUADRANT);

let root: string;
let modelsDir: string;
let source: string;
const px = knownImage();

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-compare-'));
  modelsDir = path.join(root, 'models');
  writeTinyModel(modelsDir, 'tinymax', { width: W, height: H, mode: 'max' });
  writeTinyModel(modelsDir, 'tinymean', { width: W, height: H, mode: 'mean' }); // default.json: tinymean
  fs.mkdirSync(path.join(root, 'frames'));
  await sharp(px, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toFile(path.join(root, 'frames', 'known.png'));
  source = `file://${path.join(root, 'frames', 'known.png')}`;
});

describe('serve --compare: two models side by side', () => {
  let d: Daemon;
  beforeAll(async () => {
    d = await startDaemon(['--source', source, '--models-dir', modelsDir, '--model', 'tinymean', '--compare', 'tinymax', '--providers', 'cpu', '--fps', '30'], {
      env: { NOTIFY_SOCKET: '' },
    });
  });
  afterAll(async () => {
    expect(await d.stop()).toBe(0);
  });

  it('hello lists the comparison model; the live model stays first', async () => {
    const { hello, frames } = await collectFrames(d.port, 2);
    expect(hello.model.name).toBe('tinymean');
    expect(hello.compare).toEqual([{ index: 0, name: 'tinymax', version: '0.0.1-test', threshold: 0.5, providerLabel: 'CPU' }]);
    // the live mask is the live model's: mean(R,G,B)
    expect(Array.from(frames[0].maskBytes)).toEqual(Array.from(expectedMask(px, (r, g, b) => Math.trunc((r + g + b) / 3))));
  });

  it('each frame carries both masks, and its IoU/F1 and time are right for the known masks', async () => {
    const { frames, comparisonMasks } = await collectFrames(d.port, 5, 60_000, { compare: 0 });
    expect(frames.length).toBeGreaterThanOrEqual(5);
    const maxMask = expectedMask(px, (r, g, b) => Math.max(r, g, b));
    const meanMask = expectedMask(px, (r, g, b) => Math.trunc((r + g + b) / 3));
    expect([on(meanMask), on(maxMask)]).toEqual([QUADRANT, 3 * QUADRANT]);
    for (const f of frames) {
      const c = comparisonMasks.get(f.frameId)!;
      expect(c).toMatchObject({ frameId: f.frameId, index: 0, mask: { width: W, height: H, encoding: 0 } });
      expect(Array.from(f.maskBytes)).toEqual(Array.from(meanMask));
      expect(Array.from(c.maskBytes)).toEqual(Array.from(maxMask));
      expect(f.comparisons).toHaveLength(1);
      expect(f.comparisons[0].index).toBe(0);
      expect(f.comparisons[0].iou).toBeCloseTo(IOU, 5);
      expect(f.comparisons[0].f1).toBeCloseTo(F1, 5);
      expect(f.comparisons[0].inferenceMs).toBeGreaterThan(0);
      expect(f.timings.inference).toBeGreaterThan(0);
    }
  });

  it('a viewer that did not ask gets frames with the agreement but no second mask', async () => {
    const { frames, comparisonMasks } = await collectFrames(d.port, 3);
    expect(comparisonMasks.size).toBe(0);
    expect(frames[0].comparisons[0].iou).toBeCloseTo(IOU, 5);
  });

  it('asking for a model that is not there is refused with the list', async () => {
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${d.port}/ws`);
    const reply = await new Promise<any>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const m = JSON.parse(data.toString());
        if (m.type === 'hello') ws.send(JSON.stringify({ type: 'compare', model: 3 }));
        if (m.type === 'error') resolve(m);
      });
    });
    ws.close();
    expect(reply).toMatchObject({ code: 'bad-message', message: 'no comparison model 3; there are 0 (tinymax)' });
  });

  it('/metrics and /api/compare count the agreement per comparison model', async () => {
    const text = await (await fetch(`${d.url}/metrics`)).text();
    const count = Number(/^crackscope_compare_iou_count\{model="tinymax"\} (\d+)$/m.exec(text)?.[1]);
    expect(count).toBeGreaterThanOrEqual(5);
    // every frame's IoU is 1/3: all of them in the le=0.5 bucket (the scrape may have counted a frame more since)
    expect(Number(/^crackscope_compare_iou_bucket\{le="0.5",model="tinymax"\} (\d+)$/m.exec(text)?.[1])).toBe(count);
    expect(Number(/^crackscope_compare_iou_sum\{model="tinymax"\} ([\d.]+)$/m.exec(text)?.[1])).toBeCloseTo(count * IOU, 3);
    const summary = await (await fetch(`${d.url}/api/compare`)).json();
    expect(summary.live.name).toBe('tinymean');
    expect(summary.models[0]).toMatchObject({ name: 'tinymax' });
    expect(summary.models[0].sinceStart.pooledIou).toBeCloseTo(IOU, 3);
  });
});

describe('serve with a comparison or shadow model that cannot be used', () => {
  it('stops start-up with exit 78 and one line naming the file', async () => {
    const missing = await runCli(['serve', '--port', '0', '--source', source, '--models-dir', modelsDir, '--compare', 'nosuch', '--providers', 'cpu']);
    expect(missing.code).toBe(78);
    expect(missing.stderr.trim()).toMatch(/^model error: .*nosuch\.onnx: file not found$/);
    writeTinyModel(path.join(root, 'other-size'), 'big', { width: 128, height: 64, mode: 'max' });
    const wrongSize = await runCli([
      'serve',
      '--port',
      '0',
      '--source',
      source,
      '--models-dir',
      modelsDir,
      '--shadow',
      path.join(root, 'other-size', 'big.onnx'),
      '--providers',
      'cpu',
    ]);
    expect(wrongSize.code).toBe(78);
    expect(wrongSize.stderr.trim()).toMatch(/the shadow model's input is 64x128, the live model's 64x96; they must see the same frame$/);
  });
});

describe('serve --shadow: a candidate on a sample of frames, never shown', () => {
  /** keptFrames: how many worst frames the run must have kept before it is read (its disk writes are chained) */
  async function shadowRun(candidate: string, keptFrames: number) {
    const d = await startDaemon(
      [
        '--source',
        source,
        '--models-dir',
        modelsDir,
        '--model',
        'tinymean',
        '--shadow',
        candidate,
        '--shadow-rate',
        '0.5',
        '--shadow-keep',
        '2',
        '--providers',
        'cpu',
        '--fps',
        '30',
      ],
      { env: { NOTIFY_SOCKET: '' } },
    );
    try {
      const { hello } = await collectFrames(d.port, 4);
      let summary: any;
      const deadline = Date.now() + 60_000;
      do {
        await new Promise((r) => setTimeout(r, 200));
        summary = await (await fetch(`${d.url}/api/shadow`)).json();
      } while ((summary.framesCompared < 4 || summary.kept.frames.length < keptFrames) && Date.now() < deadline);
      const metrics = await (await fetch(`${d.url}/metrics`)).text();
      summary = await (await fetch(`${d.url}/api/shadow`)).json();
      return { hello, summary, metrics, dataDir: d.dataDir };
    } finally {
      expect(await d.stop()).toBe(0);
    }
  }
  const metricValue = (text: string, re: RegExp) => Number(re.exec(text)?.[1]);

  it('a candidate that differs moves the agreement histograms, and its worst frames are kept, bounded', async () => {
    const { hello, summary, metrics, dataDir } = await shadowRun('tinymax', 2);
    expect(hello.compare).toBeUndefined();
    expect(JSON.stringify(hello)).not.toMatch(/tinymax|shadow/);
    expect(summary.model.name).toBe('tinymax');
    expect(summary.framesCompared).toBeGreaterThanOrEqual(4);
    // half the frames are sampled (some may be skipped while the shadow is busy)
    expect(summary.framesCompared + summary.framesSkippedBusy).toBeLessThanOrEqual(Math.ceil(summary.framesOffered / 2) + 1);
    expect(summary.window.iou.mean).toBeCloseTo(IOU, 3);
    expect(summary.window.f1.mean).toBeCloseTo(F1, 3);
    const count = metricValue(metrics, /^crackscope_shadow_iou_count (\d+)$/m);
    expect(count).toBeGreaterThanOrEqual(4);
    expect(metricValue(metrics, /^crackscope_shadow_iou_bucket\{le="0.5"\} (\d+)$/m)).toBe(count);
    expect(metricValue(metrics, /^crackscope_shadow_iou_sum ([\d.]+)$/m)).toBeCloseTo(count * IOU, 3);
    expect(metrics).toMatch(/^crackscope_shadow_info\{model="tinymax",version="0.0.1-test",rate="0.5"\} 1$/m);
    // at most shadowKeep (2) frames on disk, each whole
    const dir = path.join(dataDir, 'shadow', 'tinymax');
    const kept = fs.readdirSync(dir);
    expect(kept.length).toBe(2);
    for (const k of kept) {
      expect(fs.readdirSync(path.join(dir, k)).sort()).toEqual(['image.jpg', 'info.json', 'live.png', 'shadow.png']);
      const info = JSON.parse(fs.readFileSync(path.join(dir, k, 'info.json'), 'utf8'));
      expect(info.iou).toBeCloseTo(IOU, 4);
      expect([info.livePixels, info.shadowPixels]).toEqual([QUADRANT, 3 * QUADRANT]);
      const { data, info: meta } = await sharp(path.join(dir, k, 'shadow.png'))
        .extractChannel(0)
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect([meta.width, meta.height, meta.channels]).toEqual([W, H, 1]);
      expect(on(new Uint8Array(data))).toBe(3 * QUADRANT);
    }
    expect(summary.kept.frames).toHaveLength(2);
  });

  it('an equal candidate agrees fully: every frame in the top bucket, nothing kept', async () => {
    const { summary, metrics, dataDir } = await shadowRun('tinymean', 0);
    const count = metricValue(metrics, /^crackscope_shadow_iou_count (\d+)$/m);
    expect(count).toBeGreaterThanOrEqual(4);
    expect(metricValue(metrics, /^crackscope_shadow_iou_bucket\{le="0.999"\} (\d+)$/m)).toBe(0);
    expect(metricValue(metrics, /^crackscope_shadow_iou_bucket\{le="1"\} (\d+)$/m)).toBe(count);
    expect(summary.window.iou.min).toBe(1);
    expect(fs.readdirSync(path.join(dataDir, 'shadow', 'tinymean'))).toEqual([]);
  });

  it('without --shadow, /api/shadow says how to start one', async () => {
    const d = await startDaemon(['--source', source, '--models-dir', modelsDir, '--providers', 'cpu'], { env: { NOTIFY_SOCKET: '' } });
    try {
      const res = await fetch(`${d.url}/api/shadow`);
      expect(res.status).toBe(404);
      expect((await res.json()).error).toMatch(/--shadow NAME/);
    } finally {
      await d.stop();
    }
  });
});

describe('crackscope compare: the acceptance gate', () => {
  let images: string;
  let labels: string;
  beforeAll(async () => {
    images = path.join(root, 'gate-images');
    labels = path.join(root, 'gate-labels');
    fs.mkdirSync(images);
    fs.mkdirSync(labels);
    for (let i = 0; i < 3; i++) {
      const img = Buffer.alloc(W * H * 3);
      const label = Buffer.alloc(W * H);
      for (let p = 0; p < W * H; p++) {
        const crack = (p % W) % (7 + i) === 0; // bright vertical lines are the "cracks"
        img.set(crack ? [230, 230, 230] : [60 + i * 10, 40, 180 - i * 60], 3 * p);
        label[p] = crack ? 255 : 0;
      }
      await sharp(img, { raw: { width: W, height: H, channels: 3 } })
        .png()
        .toFile(path.join(images, `g${i}.png`));
      await sharp(label, { raw: { width: W, height: H, channels: 1 } })
        .png()
        .toFile(path.join(labels, `g${i}.png`));
    }
  });

  const compare = (...args: string[]) => runCli(['compare', ...args, '--models-dir', modelsDir, '--providers', 'cpu', '--json']);

  it('accepts an equal model, with full agreement and the same F1 against the labels', async () => {
    const r = await compare('tinymean', path.join(modelsDir, 'tinymean.onnx'), images, labels);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(report).toMatchObject({ images: 3, iou: 1, f1: 1, accepted: true, labels: { images: 3 } });
    expect(report.labels.a.f1).toBe(1); // mean(R,G,B) ≥ 128 exactly on the bright lines
    expect(report.labels.b.f1).toBe(1);
    expect(r.stdout).toMatch(/^ACCEPTED/m);
  });

  it('refuses a degraded model with the numbers, and exits 1', async () => {
    // max(R,G,B): the blue background (180, 170, 120 in blue) lights up too
    const r = await compare('tinymean', 'tinymax', images, labels);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(report.accepted).toBe(false);
    expect(report.iou).toBeLessThan(0.9);
    expect(report.labels.b.f1).toBeLessThan(report.labels.a.f1);
    expect(r.stdout).toMatch(/^REFUSED: IoU of tinymax@0.0.1-test with tinymean@0.0.1-test is 0\.\d{4} < 0.9/m);
    expect(r.stdout).toMatch(/F1 against the labels fell from 1\.0000 \(tinymean@0.0.1-test\) to 0\.\d+/);
    // a limit low enough lets the same pair through on IoU, the label F1 still refuses it
    const loose = await compare('tinymean', 'tinymax', images, labels, '--min-iou', '0.01');
    expect(loose.code).toBe(1);
    expect(loose.stdout).not.toMatch(/IoU of tinymax/);
    const noLabels = await compare('tinymean', 'tinymax', images, '--min-iou', '0.01');
    expect(noLabels.code).toBe(0);
  });

  it('reads a captures folder (one image.jpg per capture) as the image set', async () => {
    const caps = path.join(root, 'captures');
    for (const id of ['20260101T000000000Z-aaaaaa', '20260101T000001000Z-bbbbbb']) {
      fs.mkdirSync(path.join(caps, id), { recursive: true });
      await sharp(path.join(images, 'g0.png'))
        .jpeg({ quality: 95 })
        .toFile(path.join(caps, id, 'image.jpg'));
    }
    const r = await compare('tinymean', 'tinymax', caps, '--min-iou', '0.5');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(report.images).toBe(2);
    expect(report.perImage.map((p: { image: string }) => p.image)).toEqual(['20260101T000000000Z-aaaaaa', '20260101T000001000Z-bbbbbb']);
  });

  it('bad usage exits 64 with the usage, a missing model 78', async () => {
    const r = await compare('tinymean', 'tinymax');
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^crackscope compare: error: missing required argument 'image-folder'/);
    expect(r.stderr).toMatch(/see 'crackscope compare --help'/);
    const badLimit = await compare('tinymean', 'tinymax', images, '--min-iou', '2');
    expect(badLimit.code).toBe(64);
    expect(badLimit.stderr).toMatch(/--min-iou.*expected a number in 0\.\.1/);
    const missing = await compare('tinymean', 'nosuch', images);
    expect(missing.code).toBe(78);
    expect(missing.stderr).toMatch(/nosuch\.onnx: file not found/);
  });
});

describe('providers of the models beside the live one', () => {
  it('at most one WebGPU session per process: later models fall back to the next provider, or the CPU', async () => {
    const { providersBeside } = await import('../server/inference/model-set.js');
    expect(providersBeside(['webgpu', 'cpu'], false)).toEqual(['webgpu', 'cpu']);
    expect(providersBeside(['tensorrt', 'cuda', 'webgpu', 'cpu'], true)).toEqual(['tensorrt', 'cuda', 'cpu']);
    expect(providersBeside(['webgpu'], true)).toEqual(['cpu']);
    expect(providersBeside(['cpu'], true)).toEqual(['cpu']);
  });
});
