// `crackscope bench [--frames N] [--json]`: the model alone in a loop (raw_*), then the real daemon
// as a child process on loopback with WebSocket clients (pipeline_*, stage_ms, e2e latency, RSS).
// `--passthrough` does the same with a model-free stand-in (passthrough-model.ts): the pipeline's
// ceiling in fps when the model costs next to nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import WebSocket from 'ws';
import { DEMO_DIR } from '../camera/open-source.js';
import { listImages } from '../camera/image-folder.js';
import type { Config } from '../config/schema.js';
import { resolveModel } from '../inference/manifest.js';
import { writePassthroughModel } from '../inference/passthrough-model.js';
import { createOrtSession } from '../inference/session.js';
import { tensorrtResolver } from '../inference/providers.js';
import { createLogger } from '../log/logger.js';
import { threadsPerModel } from '../inference/model-set.js';
import { decodeFrame, MASK_DEFLATE, STAGES } from '../protocol/wire-format.js';
import { analyzeMask, identityOptions, type AnalyzeOptions } from '../analysis/crack-measure.js';
import { spawnDaemon } from './daemon-child.js';

export const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function demoFrame(width: number, height: number): Promise<Uint8Array> {
  const img = fs.existsSync(DEMO_DIR) ? listImages(DEMO_DIR)[0] : undefined;
  const base = img ? sharp(img) : sharp({ create: { width, height, channels: 3, background: { r: 128, g: 120, b: 110 } } });
  return new Uint8Array(await base.resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer());
}

export async function rawBench(opts: {
  frames: number;
  modelName: string;
  modelsDir: string;
  providers: Parameters<typeof createOrtSession>[0]['providers'];
  threads: number;
  config: Config;
}) {
  const model = resolveModel(opts.modelsDir, opts.modelName);
  const session = await createOrtSession({
    model,
    providers: opts.providers,
    threads: opts.threads,
    log: createLogger('error'),
    resolveTensorrt: tensorrtResolver(opts.config),
  });
  const { height, width } = model.manifest.input;
  const rgb = await demoFrame(width, height);
  for (let i = 0; i < 3; i++) await session.run(rgb, height, width);
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < opts.frames; i++) {
    const t = performance.now();
    await session.run(rgb, height, width);
    times.push(performance.now() - t);
  }
  const wall = performance.now() - t0;
  await session.release();
  return {
    provider: session.provider,
    providerLabel: session.providerLabel,
    fallbacks: session.fallbacks,
    model: `${model.manifest.name}@${model.manifest.version}`,
    input: `${height}x${width}`,
    gflops: model.manifest.gflops,
    raw_infer_ms_p50: round(pct(times, 50)),
    raw_infer_ms_p95: round(pct(times, 95)),
    raw_fps: round((opts.frames * 1000) / wall),
  };
}

function rssMb(pid: number, key = 'VmRSS'): number {
  const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? round(Number(m[1]) / 1024, 1) : 0;
}
const hwmMb = (pid: number) => rssMb(pid, 'VmHWM');

/** /proc/<pid>/stat user+system CPU time in ms (all threads). */
function cpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return 0;
  }
}

function childPids(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

const cpuOf = (pids: number[]) => pids.reduce((a, p) => a + cpuMs(p), 0);

export interface ClientMeasurements {
  stage_ms: Record<string, { p50: number; p95: number }>;
  non_inference_ms_p50: number;
  pipeline_fps: number;
  e2e_latency_ms_p50: number;
  e2e_latency_ms_p95: number;
  e2e_minus_inference_ms_p50: number;
  e2e_minus_inference_ms_p95: number;
  mask_bytes_mean: number;
  jpeg_bytes_mean: number;
  clients: number;
  /** crack measurement (server/analysis: what a kiosk freeze or a capture runs) on received masks, after the stream */
  analysis_ms: { p50: number; p95: number; frames: number };
}

/** Masks kept from the stream to time the crack analysis on afterwards (off the live path, as in the service). */
const ANALYSIS_FRAMES = 24;

/**
 * Connects K WebSocket clients to a running crackscope on loopback and measures the frames client 0
 * receives (the others only load the server): per-stage timings from the frame header, the send
 * stage and end-to-end latency at receipt, and the arrival rate. `onMeasuring` runs once, when the
 * warm-up frames have passed (the bench samples CPU counters there).
 */
export async function measureClients(opts: {
  port: number;
  frames: number;
  clients: number;
  warmup?: number;
  onMeasuring?: () => void;
  identity?: Omit<AnalyzeOptions, 'threshold'>;
}): Promise<ClientMeasurements> {
  const warmup = opts.warmup ?? 5;
  const e2e: number[] = [];
  /** each frame's latency less its own model round trip: what the pipeline adds, load-robust since both halves are one frame's */
  const e2eLessModel: number[] = [];
  const stage: Record<string, number[]> = Object.fromEntries(STAGES.map((s) => [s, []]));
  const arrivals: number[] = [];
  let maskBytes = 0;
  let jpegBytes = 0;
  const sockets: WebSocket[] = [];
  let threshold = 0.5;
  const masks: { mask: Uint8Array; width: number; height: number }[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${arrivals.length} frames`)), 120_000 + opts.frames * 2000);
      for (let c = 0; c < opts.clients; c++) {
        const ws = new WebSocket(`ws://127.0.0.1:${opts.port}/ws`);
        sockets.push(ws);
        let seen = 0;
        ws.on('error', reject);
        ws.on('message', (data, isBinary) => {
          if (!isBinary && c === 0) {
            try {
              const m = JSON.parse(String(data));
              if (m.type === 'hello' && typeof m.model?.threshold === 'number') threshold = m.model.threshold;
            } catch {
              /* not ours */
            }
          }
          if (!isBinary || c !== 0) return; // extra clients only load the server
          if (++seen <= warmup) {
            if (seen === warmup) opts.onMeasuring?.();
            return;
          }
          const f = decodeFrame(new Uint8Array(data as Buffer));
          // received = usable: a deflated mask counts once it is inflated, as the kiosk must do
          const raw = f.mask.encoding === MASK_DEFLATE ? zlib.inflateSync(f.maskBytes) : f.maskBytes;
          if (masks.length < ANALYSIS_FRAMES) masks.push({ mask: new Uint8Array(raw), width: f.mask.width, height: f.mask.height });
          const now = performance.timeOrigin + performance.now();
          arrivals.push(now);
          e2e.push(now - f.capturedAt);
          e2eLessModel.push(now - f.capturedAt - f.timings.inference);
          maskBytes += f.maskBytes.byteLength;
          jpegBytes += f.jpeg.byteLength;
          for (const s of STAGES) stage[s].push(s === 'send' ? now - f.sentAt : f.timings[s]);
          if (arrivals.length >= opts.frames) {
            clearTimeout(timer);
            resolve();
          }
        });
      }
    });
  } finally {
    for (const ws of sockets) ws.close();
  }
  // the crack analysis on the received masks, after the stream (it never runs per frame)
  const analysis: number[] = [];
  const identity = opts.identity ?? {};
  if (masks.length) analyzeMask(masks[0].mask, masks[0].width, masks[0].height, { ...identity, threshold });
  for (const m of masks) {
    const t = performance.now();
    analyzeMask(m.mask, m.width, m.height, { ...identity, threshold });
    analysis.push(performance.now() - t);
  }
  const span = (arrivals.at(-1)! - arrivals[0]) / 1000;
  const stage_ms = Object.fromEntries(STAGES.map((s) => [s, { p50: round(pct(stage[s], 50)), p95: round(pct(stage[s], 95)) }]));
  // the stages' own work besides the model (issue 7's measure); the queue is waiting, not work
  const nonInfer = STAGES.filter((s) => s !== 'inference' && s !== 'queue').reduce((a, s) => a + stage_ms[s].p50, 0);
  return {
    pipeline_fps: round((arrivals.length - 1) / span),
    stage_ms,
    non_inference_ms_p50: round(nonInfer),
    e2e_latency_ms_p50: round(pct(e2e, 50)),
    e2e_latency_ms_p95: round(pct(e2e, 95)),
    e2e_minus_inference_ms_p50: round(pct(e2eLessModel, 50)),
    e2e_minus_inference_ms_p95: round(pct(e2eLessModel, 95)),
    mask_bytes_mean: Math.round(maskBytes / arrivals.length),
    jpeg_bytes_mean: Math.round(jpegBytes / arrivals.length),
    clients: opts.clients,
    analysis_ms: { p50: round(pct(analysis, 50)), p95: round(pct(analysis, 95)), frames: analysis.length },
  };
}

export async function pipelineBench(opts: {
  frames: number;
  clients: number;
  source: string;
  fps: number;
  extraArgs: string[];
  daemon?: string;
  identity?: Omit<AnalyzeOptions, 'threshold'>;
}) {
  const daemon = await spawnDaemon(['--port', '0', '--source', opts.source, '--fps', String(opts.fps), ...opts.extraArgs], { main: opts.daemon });
  const { port } = daemon;
  try {
    const pid = daemon.child.pid!;
    let cpu0 = { daemon: 0, capture: 0, t: 0 };
    const m = await measureClients({
      port,
      frames: opts.frames,
      clients: opts.clients,
      identity: opts.identity,
      onMeasuring: () => (cpu0 = { daemon: cpuMs(pid), capture: cpuOf(childPids(pid)), t: performance.now() }),
    });
    const cpu1 = { daemon: cpuMs(pid), capture: cpuOf(childPids(pid)), t: performance.now() };
    const frames = opts.frames; // frames received by client 0 after the warm-up, = frames processed in that span
    return {
      ...m,
      rss_mb: rssMb(pid),
      rss_peak_mb: hwmMb(pid),
      // CPU per frame, robust against other load on the machine: the whole daemon (model threads,
      // encoder, event loop) and its capture process(es)
      daemon_cpu_ms_per_frame: round((cpu1.daemon - cpu0.daemon) / frames, 1),
      capture_cpu_ms_per_frame: round((cpu1.capture - cpu0.capture) / frames, 1),
      daemon_cpu_cores: round((cpu1.daemon - cpu0.daemon) / (cpu1.t - cpu0.t), 2),
    };
  } finally {
    await daemon.stop('SIGTERM');
  }
}

export interface BenchOptions {
  frames: number;
  clients: number;
  rawOnly: boolean;
  json: boolean;
  /** --fps was given: pace the source at config.fps instead of just above the raw rate */
  fpsGiven: boolean;
  /** run the model-free stand-in instead of the model: the pipeline's non-model ceiling */
  passthrough?: boolean;
  /** another build's dist/server/cli/main.js to run as the daemon (before/after comparisons with one bench) */
  daemon?: string;
}

export async function runBench(opts: BenchOptions, config: Config): Promise<number> {
  if (!opts.passthrough) return bench(opts, config);
  // the stand-in takes frames at the configured model's live size, so capture, JPEG and mask cost the same
  const { height, width } = resolveModel(config.modelsDir, config.model).manifest.input;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crackscope-passthrough-'));
  try {
    return await bench(opts, { ...config, modelsDir: dir, model: writePassthroughModel(dir, { height, width }) });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function bench({ frames, clients, rawOnly, json, fpsGiven, passthrough = false, daemon }: BenchOptions, config: Config): Promise<number> {
  const load1 = os.loadavg()[0];
  const raw = await rawBench({ frames, modelName: config.model, modelsDir: config.modelsDir, providers: config.providers, threads: config.threads, config });
  let result: Record<string, unknown> = {
    ...raw,
    threads: config.threads || os.availableParallelism(),
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model,
    node: process.version,
  };
  if (!rawOnly) {
    // pace the source just above what the model can take, so the model, not the source, is the limit
    const fps = fpsGiven ? config.fps : Math.min(120, Math.ceil(raw.raw_fps * 1.3) + 1);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crackscope-bench-'));
    const pairs: [string, string][] = [
      ['--model', config.model],
      ['--providers', config.providers.join(',')],
      ['--threads', String(config.threads)],
      ['--mask-encoding', config.maskEncoding],
      ['--models-dir', config.modelsDir],
      ['--data-dir', dataDir],
    ];
    const cleaned = pairs.filter(([, v]) => v !== '').flat();
    const pipe = await pipelineBench({ frames, clients, source: config.source, fps, extraArgs: cleaned, daemon, identity: identityOptions(config) }).finally(
      () => fs.rmSync(dataDir, { recursive: true, force: true }),
    );
    if (daemon) result.daemon = path.resolve(daemon);
    result = {
      ...result,
      source: config.source,
      source_fps: fps,
      mask_encoding: config.maskEncoding,
      ...pipe,
      pipeline_vs_raw: round(pipe.pipeline_fps / raw.raw_fps, 3),
      e2e_minus_raw_ms: round(pipe.e2e_latency_ms_p50 - raw.raw_infer_ms_p50),
    };
    if (config.compare.length) result.compare = await compareBench({ frames, clients, fps, config, args: cleaned, alone: pipe, liveRaw: raw });
    if (passthrough) {
      // what everything but the model allows; when the source's own pace is reached, that is the limit seen
      result.non_model_ceiling_fps = pipe.pipeline_fps;
      result.ceiling_source_bound = pipe.pipeline_fps >= 0.95 * fps;
    }
  }
  result.passthrough = passthrough;
  // other work on the machine skews every number here: say how loaded it was (1-minute load average)
  result.load_1m = [round(load1), round(os.loadavg()[0])];
  if (!json) printTable(result);
  process.stdout.write(JSON.stringify(result) + '\n');
  return 0;
}

/**
 * `bench --compare B[,C]`: what the comparison models cost the live model. Each comparison model's
 * own cost is its raw session.run time alone (all cores); then the same pipeline runs with them, and
 * the live model's frame time may grow by at most their sum (`within_own_cost`).
 */
async function compareBench(o: {
  frames: number;
  clients: number;
  fps: number;
  config: Config;
  args: string[];
  alone: Awaited<ReturnType<typeof pipelineBench>>;
  liveRaw: Awaited<ReturnType<typeof rawBench>>;
}) {
  const own = [];
  for (const name of o.config.compare) {
    const r = await rawBench({
      frames: o.frames,
      modelName: name,
      modelsDir: o.config.modelsDir,
      providers: o.config.providers,
      threads: o.config.threads,
      config: o.config,
    });
    own.push({ model: r.model, raw_infer_ms_p50: r.raw_infer_ms_p50 });
  }
  const threadsArgs = o.args.filter((_, i, a) => a[i] !== '--threads' && a[i - 1] !== '--threads');
  const withCompare = await pipelineBench({
    frames: o.frames,
    clients: o.clients,
    source: o.config.source,
    fps: o.fps,
    extraArgs: [...threadsArgs, '--threads', String(o.config.threads), '--compare', o.config.compare.join(',')],
  });
  const frameMs = (fps: number) => round(1000 / fps, 1);
  const ownSum = round(
    own.reduce((a, m) => a + m.raw_infer_ms_p50, 0),
    1,
  );
  const added = round(frameMs(withCompare.pipeline_fps) - frameMs(o.alone.pipeline_fps), 1);
  return {
    models: own,
    threads_per_model: threadsPerModel(o.config),
    live_alone: {
      pipeline_fps: o.alone.pipeline_fps,
      frame_ms: frameMs(o.alone.pipeline_fps),
      inference_ms_p50: o.alone.stage_ms.inference.p50,
      e2e_latency_ms_p50: o.alone.e2e_latency_ms_p50,
      daemon_cpu_ms_per_frame: o.alone.daemon_cpu_ms_per_frame,
      rss_mb: o.alone.rss_mb,
    },
    with_compare: {
      pipeline_fps: withCompare.pipeline_fps,
      frame_ms: frameMs(withCompare.pipeline_fps),
      inference_ms_p50: withCompare.stage_ms.inference.p50,
      e2e_latency_ms_p50: withCompare.e2e_latency_ms_p50,
      daemon_cpu_ms_per_frame: withCompare.daemon_cpu_ms_per_frame,
      rss_mb: withCompare.rss_mb,
    },
    frame_ms_added: added,
    own_cost_ms: ownSum,
    within_own_cost: added <= ownSum,
  };
}

function printTable(r: Record<string, any>) {
  const lines = [
    `crackscope bench — ${r.model} at ${r.input} on ${r.providerLabel}, ${r.threads} threads (${r.cores} cores, ${r.cpu}; load ${r.load_1m.join(' → ')})`,
    `  raw session.run      p50 ${r.raw_infer_ms_p50} ms   p95 ${r.raw_infer_ms_p95} ms   ${r.raw_fps} fps`,
  ];
  if (r.passthrough)
    lines.push('  model                a pass-through stand-in (max of R, G, B), not the crack model: the figures are the pipeline without a model');
  if (r.pipeline_fps !== undefined) {
    lines.push(`  full pipeline        ${r.pipeline_fps} fps (${Math.round(r.pipeline_vs_raw * 100)}% of raw), source ${r.source} at ≤${r.source_fps} fps`);
    if (r.passthrough) {
      lines.push(
        `  non-model ceiling    ${r.non_model_ceiling_fps} fps${r.ceiling_source_bound ? ` (the source's pace, ${r.source_fps} fps, is reached: the pipeline could go faster)` : ''}`,
      );
    }
    lines.push(`  end-to-end latency   p50 ${r.e2e_latency_ms_p50} ms   p95 ${r.e2e_latency_ms_p95} ms (capture → WebSocket client)`);
    lines.push(`  … less its own model p50 ${r.e2e_minus_inference_ms_p50} ms   p95 ${r.e2e_minus_inference_ms_p95} ms (per frame: what the pipeline adds)`);
    lines.push('  stage (its own time) p50 ms    p95 ms   (stages overlap across frames; queue = the frame waiting)');
    for (const [s, v] of Object.entries(r.stage_ms as Record<string, { p50: number; p95: number }>))
      lines.push(`  ${s.padEnd(20)} ${String(v.p50).padStart(6)}    ${String(v.p95).padStart(6)}`);
    lines.push(
      `  all but inference    ${r.non_inference_ms_p50} ms (p50 sum)`,
      `  crack analysis       p50 ${r.analysis_ms.p50} ms   p95 ${r.analysis_ms.p95} ms (on ${r.analysis_ms.frames} received masks; a freeze or capture, not per frame)`,
      `  mask on the wire     ${r.mask_encoding}, ${r.mask_bytes_mean} B/frame; JPEG ${r.jpeg_bytes_mean} B/frame`,
      `  CPU per frame        daemon ${r.daemon_cpu_ms_per_frame} ms, capture process ${r.capture_cpu_ms_per_frame} ms`,
      `  daemon RSS           ${r.rss_mb} MB with ${r.clients} client(s), peak ${r.rss_peak_mb} MB`,
    );
  }
  if (r.compare) {
    const c = r.compare;
    lines.push(
      `  with --compare ${c.models.map((m: { model: string }) => m.model).join(',')} (${c.threads_per_model} thread(s) per model):`,
      `    live alone         ${c.live_alone.pipeline_fps} fps (${c.live_alone.frame_ms} ms/frame), CPU ${c.live_alone.daemon_cpu_ms_per_frame} ms/frame, RSS ${c.live_alone.rss_mb} MB`,
      `    with comparison    ${c.with_compare.pipeline_fps} fps (${c.with_compare.frame_ms} ms/frame), CPU ${c.with_compare.daemon_cpu_ms_per_frame} ms/frame, RSS ${c.with_compare.rss_mb} MB`,
      `    frame time added   ${c.frame_ms_added} ms; the comparison models' own cost ${c.own_cost_ms} ms (raw, alone): ${c.within_own_cost ? 'within it' : 'MORE than it'}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}
