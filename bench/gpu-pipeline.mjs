// GPU run helper (no GStreamer on the lent machine): the product's own modules from dist/.
//   node bench/gpu-pipeline.mjs agree                      CPU vs WebGPU masks on the demo frames
//   node bench/gpu-pipeline.mjs pipeline PROVIDER ENC N K  raw session.run (N runs, this thread), then
//                                                          frames from memory → FramePipeline (model in
//                                                          its worker thread) → FrameStream → K WS clients
//                                                          (COMPARE=B[,C]: with comparison models, as serve --compare)
// Environment: DIST=path/to/dist runs another build's pipeline, stream and session (e.g. the code
// before a change; default: this checkout's dist), measured by this checkout's bench code; PASSTHROUGH=1 uses the model-free stand-in (passthrough-model.ts) at the
// configured model's size instead of the model: the pipeline's non-model ceiling.
// Prints one JSON line per result.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(process.env.DIST ?? path.join(here, '..', 'dist'));
const load = (rel) => import(pathToFileURL(path.join(dist, rel)).href);
// the measuring side (raw loop, WebSocket clients) is always this checkout's; DIST is the code measured
const { measureClients, rawBench } = await import(pathToFileURL(path.join(here, '..', 'dist', 'server/cli/bench.js')).href);
const { loadConfig } = await load('server/config/load.js');
const { resolveModel } = await load('server/inference/manifest.js');
const { createCrackSession, createOrtSession } = await load('server/inference/session.js');
const { createLogger } = await load('server/log/logger.js');
const { FramePipeline } = await load('server/pipeline/frame-pipeline.js');
const { FrameStream } = await load('server/stream/ws-server.js');
const { DEMO_DIR } = await load('server/camera/open-source.js');

const load0 = +os.loadavg()[0].toFixed(2);
let config = loadConfig({ flags: {} });
if (process.env.PASSTHROUGH === '1') {
  // the stand-in comes from this checkout's build (an older DIST may not have it); it is only a model file
  const { writePassthroughModel } = await import(pathToFileURL(path.join(here, '..', 'dist', 'server/inference/passthrough-model.js')).href);
  const { height, width } = resolveModel(config.modelsDir, config.model).manifest.input;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crackscope-passthrough-'));
  config = { ...config, modelsDir: dir, model: writePassthroughModel(dir, { height, width }) };
}
const model = resolveModel(config.modelsDir, config.model);
const { height, width } = model.manifest.input;
const log = createLogger('error');
const files = fs
  .readdirSync(DEMO_DIR)
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort();
const frames = [];
for (const f of files) frames.push(new Uint8Array(await sharp(path.join(DEMO_DIR, f)).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer()));

const [mode, ...args] = process.argv.slice(2);
const rss = () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024);

if (mode === 'agree') {
  const cpu = await createOrtSession({ model, providers: ['cpu'], threads: 0, log });
  const gpu = await createOrtSession({ model, providers: ['webgpu'], threads: 0, log });
  const thr = Math.ceil(model.manifest.threshold * 255); // p >= 0.5  <=>  round(p*255) >= 128
  let total = 0,
    disagree = 0,
    inter = 0,
    union = 0,
    maxDiff = 0,
    sumDiff = 0,
    cpuCrack = 0,
    gpuCrack = 0;
  const perFrame = [];
  for (const [i, rgb] of frames.entries()) {
    const a = Uint8Array.from(await cpu.run(rgb, height, width));
    const b = Uint8Array.from(await gpu.run(rgb, height, width));
    let d = 0;
    for (let k = 0; k < a.length; k++) {
      const ca = a[k] >= thr;
      const cb = b[k] >= thr;
      if (ca !== cb) d++;
      if (ca && cb) inter++;
      if (ca || cb) union++;
      if (ca) cpuCrack++;
      if (cb) gpuCrack++;
      const x = Math.abs(a[k] - b[k]);
      sumDiff += x;
      if (x > maxDiff) maxDiff = x;
    }
    total += a.length;
    disagree += d;
    perFrame.push({ frame: files[i], disagree: d });
  }
  console.log(
    JSON.stringify({
      check: 'webgpu_vs_cpu_masks',
      provider_a: cpu.providerLabel,
      provider_b: gpu.providerLabel,
      frames: frames.length,
      pixels: total,
      threshold_u8: thr,
      pixel_agreement: +(1 - disagree / total).toFixed(7),
      disagreeing_pixels: disagree,
      crack_pixels_cpu: cpuCrack,
      crack_pixels_webgpu: gpuCrack,
      iou_cpu_vs_webgpu: +(inter / union).toFixed(5),
      max_abs_diff_u8: maxDiff,
      mean_abs_diff_u8: +(sumDiff / total).toFixed(4),
      per_frame: perFrame,
    }),
  );
  await cpu.release();
  await gpu.release();
} else if (mode === 'pipeline') {
  const [provider = 'webgpu', maskEncoding = 'raw', n = '300', k = '4'] = args;
  // frames from memory, in shared memory like the GStreamer source's pool; delivered on demand (paced)
  class MemorySource extends EventEmitter {
    uri = 'memory://demo';
    mode = 'paced';
    seq = 0;
    shared = frames.map((f) => {
      const b = Buffer.from(new SharedArrayBuffer(f.length));
      b.set(f);
      return b;
    });
    start() {
      setImmediate(() => this.emit('state', { state: 'running' }));
    }
    async nextFrame() {
      const t = performance.now();
      const rgb = this.shared[this.seq % this.shared.length];
      return { seq: ++this.seq, capturedAt: performance.timeOrigin + performance.now(), readMs: performance.now() - t, rgb, release() {} };
    }
    async stop() {}
    stats() {
      return { framesRead: this.seq, framesDropped: 0, badFrames: 0, restarts: 0, state: 'running' };
    }
  }
  const raw = await rawBench({ frames: Number(n), modelName: config.model, modelsDir: config.modelsDir, providers: [provider], threads: 0, config });
  const compare = (process.env.COMPARE ?? '').split(',').filter(Boolean);
  const runConfig = { ...config, providers: [provider], compare, shadow: '' };
  const session = await createCrackSession({ model, providers: [provider], threads: 0, log, logLevel: 'error' });
  // comparison models only when asked (an older DIST may not have them)
  const extra = compare.length ? await (await load('server/inference/model-set.js')).loadExtraModels(runConfig, model, log, session.provider) : undefined;
  const comparer = compare.length
    ? await (
        await load('server/pipeline/compare.js')
      ).FrameComparer.create({
        compare: extra.compare,
        live: {
          name: model.manifest.name,
          version: model.manifest.version,
          thresholdByte: (await load('server/inference/agreement.js')).thresholdByte(model.manifest.threshold),
        },
        shadowRate: 0,
        shadowKeep: 0,
        dataDir: '/tmp',
        width,
        height,
        log,
      })
    : undefined;
  const source = new MemorySource();
  const pipeline = new FramePipeline({ source, session, width, height, jpegQuality: config.jpegQuality, maskEncoding, sourceStallMs: 5000, log, comparer });
  const ctx = {
    config: runConfig,
    log,
    manifest: model.manifest,
    inference: { provider: session.provider, providerLabel: session.providerLabel, fallbacks: session.fallbacks },
    pipeline,
    comparer,
  };
  const stream = new FrameStream(ctx, pipeline);
  const server = http.createServer((_, res) => res.end());
  server.on('upgrade', (req, socket, head) => stream.handleUpgrade(req, socket, head, null)); // loopback clients of this bench only: admitted
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  pipeline.start();
  const m = await measureClients({ port: server.address().port, frames: Number(n), clients: Number(k), warmup: 20 });
  const agreement = comparer
    ?.summary()
    .map((c) => ({ model: c.name, iou_mean: c.sinceStart.iouMean, pooled_iou: c.sinceStart.pooledIou, inference_ms: c.window.inferenceMs }));
  console.log(
    JSON.stringify({
      check: 'memory_pipeline',
      dist,
      model: raw.model,
      compare,
      agreement,
      provider: session.provider,
      providerLabel: session.providerLabel,
      mask_encoding: maskEncoding,
      source: 'memory (demo frames, no GStreamer)',
      raw_infer_ms_p50: raw.raw_infer_ms_p50,
      raw_infer_ms_p95: raw.raw_infer_ms_p95,
      raw_fps: raw.raw_fps,
      ...m,
      pipeline_vs_raw: +(m.pipeline_fps / raw.raw_fps).toFixed(3),
      e2e_minus_raw_ms: +(m.e2e_latency_ms_p50 - raw.raw_infer_ms_p50).toFixed(2),
      process_rss_mb_incl_clients: rss(),
      cores: os.availableParallelism(),
      load_1m: [load0, +os.loadavg()[0].toFixed(2)],
    }),
  );
  await stream.close();
  await pipeline.stop();
  await comparer?.stop();
  await extra?.release();
  server.close();
  await session.release();
  process.exit(0);
} else {
  console.error('usage: gpu-pipeline.mjs agree | pipeline PROVIDER ENC N K');
  process.exit(64);
}
