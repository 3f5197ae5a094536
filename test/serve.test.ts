// The whole path with real parts: GStreamer source → onnxruntime model → WebSocket client, plus
// /healthz and /metrics, on test:// and on a file:// folder of the demo images.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetricsText } from '../server/cli/scrape-metrics.js';
import { collectFrames, ROOT, startDaemon, type Daemon } from './helpers/daemon.js';

const DEMO = path.join(ROOT, 'models', 'demo');
const manifest = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'models', `${JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'default.json'), 'utf8')).model}.json`), 'utf8'),
);
const { width: W, height: H } = manifest.input;
const T = Math.round(manifest.threshold * 255);

const crackFraction = (mask: Uint8Array) => {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] >= T) n++;
  return n / mask.length;
};

async function thumb(img: string | Uint8Array) {
  return sharp(img).resize(40, 24, { fit: 'fill' }).removeAlpha().raw().toBuffer();
}

describe('serve on test://', () => {
  let d: Daemon;
  beforeAll(async () => {
    d = await startDaemon(['--source', 'test://ball', '--fps', '30']); // default providers: the fallbacks are reported
  });
  afterAll(async () => {
    expect(await d.stop()).toBe(0);
  });

  it('sends hello, then frames with a display JPEG and a mask at the model size', async () => {
    const { hello, frames } = await collectFrames(d.port, 20);
    expect(hello).toMatchObject({ type: 'hello', protocol: 1, provider: 'cpu', providerLabel: 'CPU', mask: { width: W, height: H }, source: 'test://ball' });
    expect(hello.model.name).toBe(manifest.name);
    expect(hello.fallbacks.map((f) => f.provider)).toEqual(['tensorrt', 'cuda', 'webgpu']);
    for (const f of hello.fallbacks) expect(f.reason.length).toBeGreaterThan(10);
    expect(frames).toHaveLength(20);
    for (const f of frames) {
      expect(f.mask).toEqual({ width: W, height: H, encoding: 0 });
      expect(f.maskBytes.byteLength).toBe(W * H);
      expect([f.jpeg[0], f.jpeg[1]]).toEqual([0xff, 0xd8]);
      expect(f.sentAt).toBeGreaterThanOrEqual(f.capturedAt);
      expect(f.timings.inference).toBeGreaterThan(1);
      // stages overlap across frames, but this frame's own path adds up: waiting + hand-off + model +
      // mask encoding is its time from capture to sending (float32 fields: a little rounding)
      const t = f.timings;
      expect(t.queue).toBeGreaterThanOrEqual(0);
      expect(t.queue + t.preprocess + t.inference + t.postprocess).toBeLessThanOrEqual(f.sentAt - f.capturedAt + 0.05);
      const meta = await sharp(f.jpeg).metadata();
      expect([meta.width, meta.height]).toEqual([W, H]);
    }
    const ids = frames.map((f) => f.frameId);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('/healthz reports the source, the provider and the frame rate', async () => {
    const res = await fetch(`${d.url}/healthz`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ status: 'ok', source: 'test://ball', provider: 'cpu' });
    expect(body.fps).toBeGreaterThan(1);
  });

  it('/metrics parses as Prometheus text: frame counters, stage histograms, provider, clients, process metrics', async () => {
    const res = await fetch(`${d.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const families = new Map(parseMetricsText(text).map((f) => [f.name, f])); // throws on a malformed line
    const scalar = (name: string) => Number(families.get(name)?.metrics[0].value);
    expect(families.get('crackscope_frames_processed_total')?.type).toBe('COUNTER');
    expect(scalar('crackscope_frames_processed_total')).toBeGreaterThanOrEqual(20);
    expect(scalar('crackscope_frames_dropped_total')).toBeGreaterThanOrEqual(0);
    // (the parser folds a labelled histogram into one sample: the per-stage series are read by name)
    expect(families.get('crackscope_stage_latency_ms')?.type).toBe('HISTOGRAM');
    const perStage = (series: string, stage: string, le?: string) => {
      const m = new RegExp(`^crackscope_stage_latency_ms_${series}\\{([^}]*)\\} (\\S+)$`, 'gm');
      for (const [, labels, v] of text.matchAll(m)) if (labels.includes(`stage="${stage}"`) && (!le || labels.includes(`le="${le}"`))) return Number(v);
      return NaN;
    };
    for (const stage of ['capture', 'preprocess', 'inference', 'postprocess', 'encode', 'send', 'queue', 'total'])
      expect(perStage('count', stage), stage).toBeGreaterThanOrEqual(0);
    expect(perStage('count', 'inference')).toBeGreaterThanOrEqual(20);
    expect(perStage('count', 'queue')).toBe(perStage('count', 'inference')); // every frame's wait, too
    expect(perStage('bucket', 'inference', '+Inf')).toBe(perStage('count', 'inference'));
    expect(perStage('bucket', 'inference', '1280')).toBeLessThanOrEqual(perStage('count', 'inference'));
    expect(perStage('sum', 'inference') / perStage('count', 'inference')).toBeGreaterThan(0); // ms per run
    expect(families.get('crackscope_provider_info')?.metrics).toEqual([
      { value: '1', labels: { provider: 'cpu', label: 'CPU', model: manifest.name, version: manifest.version } },
    ]);
    expect(scalar('crackscope_clients')).toBe(0);
    // Node's process metrics, for a field engineer's dashboard
    expect(scalar('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(scalar('process_resident_memory_bytes')).toBeGreaterThan(20e6);
    expect(families.has('nodejs_gc_duration_seconds')).toBe(true);
    expect(scalar('crackscope_rss_bytes')).toBeGreaterThan(20e6);
  });
});

describe('serve on a file:// folder of demo images', () => {
  let d: Daemon;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crackscope-folder-'));
  const names = ['004', '005', '011', '014'];
  beforeAll(async () => {
    for (const n of names) fs.copyFileSync(path.join(DEMO, `${n}.jpg`), path.join(dir, `${n}.jpg`));
    d = await startDaemon(['--source', `file://${dir}/`, '--fps', '30', '--providers', 'cpu']);
  });
  afterAll(async () => {
    await d.stop();
  });

  it('masks light up where the demo labels have cracks, and not where they have none', async () => {
    const refs = await Promise.all(names.map(async (n) => ({ n, thumb: await thumb(path.join(DEMO, `${n}.jpg`)) })));
    const labels = Object.fromEntries(
      await Promise.all(
        names.map(
          async (n) =>
            [
              n,
              await sharp(path.join(DEMO, 'labels', `${n}.png`))
                .greyscale()
                .raw()
                .toBuffer(),
            ] as const,
        ),
      ),
    );
    const { frames } = await collectFrames(d.port, 20);
    const seen = new Set<string>();
    for (const f of frames) {
      // which demo image is this? the nearest thumbnail of the display JPEG
      const t = await thumb(f.jpeg);
      const dist = (a: Buffer) => a.reduce((s, v, i) => s + Math.abs(v - t[i]), 0);
      const { n } = refs.reduce((best, r) => (dist(r.thumb) < dist(best.thumb) ? r : best));
      seen.add(n);
      const label = labels[n];
      let labelled = 0,
        hit = 0,
        unlabelledLit = 0;
      for (let i = 0; i < label.length; i++) {
        if (label[i] > 127) {
          labelled++;
          if (f.maskBytes[i] >= T) hit++;
        } else if (f.maskBytes[i] >= T) unlabelledLit++;
      }
      if (labelled > 0) expect(hit / labelled, `recall on ${n}`).toBeGreaterThan(0.5);
      else expect(crackFraction(f.maskBytes), `crack-free ${n}`).toBeLessThan(0.005);
      expect(unlabelledLit / label.length, `false cracks on ${n}`).toBeLessThan(0.03);
    }
    expect(seen.size).toBeGreaterThanOrEqual(3);
  });
});
