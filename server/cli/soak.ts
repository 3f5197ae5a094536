// `crackscope soak --minutes N [--clients K] [--source URI] [--json]`: runs the daemon as a child on
// loopback with K viewers (every other one slow: it stops reading for seconds at a time, one of
// them reconnects now and then), saves and deletes a capture every 30 s, and samples /metrics.
// Reports RSS, V8 heap and handle counts at the start and the end; the JSON object is the last
// line of stdout. Exit 0 when the daemon stayed up, kept serving and stopped cleanly.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startProgress } from './progress.js';
import { scalarMetrics } from './scrape-metrics.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.js');
const SAMPLE_EVERY_MS = 10_000;
const WARMUP_MS = 20_000;

interface Sample {
  t: number;
  rss: number;
  heap: number;
  external: number;
  handles: number;
  timers: number;
  frames: number;
  clients: number;
  up: number;
}

export interface SoakOptions {
  minutes: number;
  clients: number;
  source: string;
  json: boolean;
  /** more flags for the daemon (after --) */
  extra: string[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Viewer {
  frames = 0;
  bytes = 0;
  reconnects = 0;
  errors = 0;
  private ws: WebSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly url: string,
    readonly slow: boolean,
    private readonly churn: boolean,
  ) {}

  start() {
    this.connect();
    let tick = 0;
    this.timer = setInterval(() => {
      tick++;
      const sock = (this.ws as unknown as { _socket?: { pause(): void; resume(): void } } | null)?._socket;
      // slow viewers read in bursts: 3 s of nothing, then 1 s of reading (they skip frames, never dropped)
      if (this.slow && sock) {
        if (tick % 4 === 0) sock.resume();
        else sock.pause();
      }
      if (this.churn && tick % 20 === 0) {
        this.reconnects++;
        this.ws?.terminate();
      }
    }, 1000);
  }

  private connect() {
    if (this.closed) return;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.frames++;
        this.bytes += (data as Buffer).length;
      }
    });
    ws.on('error', () => this.errors++);
    ws.on('close', () => {
      if (this.ws === ws) setTimeout(() => this.connect(), 200);
    });
  }

  stop() {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.ws?.terminate();
  }
}

export async function runSoak(opts: SoakOptions): Promise<number> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crackscope-soak-'));
  let say = (msg: string): void => void process.stderr.write(`soak: ${msg}\n`);
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'serve',
      '--port',
      '0',
      '--listen',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      '--source',
      opts.source,
      '--max-clients',
      String(opts.clients + 8),
      '--capture-quota-mb',
      '50',
      ...opts.extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const counts = { warn: 0, error: 0 };
  const events = new Map<string, number>();
  let stderrTail = '';
  let partial = '';
  let exitCode: number | null = null;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r((exitCode = code))));
  child.stderr!.on('data', (d) => (stderrTail = (stderrTail + d).slice(-2000)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the daemon did not listen within 60 s: ${stderrTail}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        try {
          const rec = JSON.parse(line);
          if (rec.level === 'warn') counts.warn++;
          if (rec.level === 'error') counts.error++;
          if (rec.level === 'warn' || rec.level === 'error') events.set(rec.event, (events.get(rec.event) ?? 0) + 1);
          if (rec.event === 'http.listening') {
            clearTimeout(timer);
            resolve(rec.port);
          }
        } catch {
          /* not a log line */
        }
      }
    });
    void exited.then((code) => reject(new Error(`the daemon exited with ${code} before listening: ${stderrTail.trim().split('\n').at(-1)}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  say(`daemon pid ${child.pid} on ${base}, source ${opts.source}, ${opts.clients} viewers, ${opts.minutes} min`);

  const viewers = Array.from({ length: opts.clients }, (_, i) => new Viewer(`ws://127.0.0.1:${port}/ws`, i % 2 === 1, i === 1));
  viewers.forEach((v) => v.start());

  const samples: Sample[] = [];
  let unhealthy = 0;
  let captures = 0;
  let captureErrors = 0;
  const sample = async () => {
    try {
      const m = scalarMetrics(await (await fetch(`${base}/metrics`)).text());
      samples.push({
        t: Date.now(),
        rss: m.crackscope_rss_bytes,
        heap: m.crackscope_heap_used_bytes,
        external: m.crackscope_external_bytes,
        handles: m.crackscope_active_handles,
        timers: m.crackscope_active_timers,
        frames: m.crackscope_frames_processed_total,
        clients: m.crackscope_clients,
        up: m.crackscope_up,
      });
      if (m.crackscope_up !== 1) unhealthy++;
    } catch {
      unhealthy++;
    }
  };
  const capture = async () => {
    try {
      const r = await fetch(`${base}/api/captures`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const body = (await r.json()) as { id?: string };
      if (r.status !== 201 || !body.id) throw new Error(`HTTP ${r.status}`);
      captures++;
      const d = await fetch(`${base}/api/captures/${body.id}`, { method: 'DELETE' });
      if (d.status !== 204) throw new Error(`delete: HTTP ${d.status}`);
    } catch {
      captureErrors++;
    }
  };

  const t0 = Date.now();
  const end = t0 + opts.minutes * 60_000;
  // its own sample lines already come every 10 s: the plain progress line only once a minute
  const progress = startProgress({ label: 'soak', total: Math.round(opts.minutes * 60), unit: 's', plainEveryMs: 60_000 });
  const sayNow = say;
  say = (msg: string) => progress.log(`soak: ${msg}`, process.stderr);
  const warmupEnd = t0 + Math.min(WARMUP_MS, (opts.minutes * 60_000) / 4);
  let nextSample = warmupEnd;
  let nextCapture = t0 + 5_000;
  while (Date.now() < end && exitCode === null) {
    if (Date.now() >= nextSample) {
      await sample();
      nextSample += SAMPLE_EVERY_MS;
      const s = samples.at(-1);
      if (s)
        say(
          `${Math.round((Date.now() - t0) / 1000)} s: rss ${mb(s.rss)} MB, heap ${mb(s.heap)} MB, handles ${s.handles}, frames ${s.frames}, clients ${s.clients}`,
        );
    }
    if (Date.now() >= nextCapture) {
      await capture();
      nextCapture += 30_000;
    }
    progress.update(Math.min(Math.round((Date.now() - t0) / 1000), Math.round(opts.minutes * 60)), `${samples.at(-1)?.frames ?? 0} frames`);
    await sleep(250);
  }
  progress.stop();
  say = sayNow;
  await sample();
  viewers.forEach((v) => v.stop());
  const crashed = exitCode !== null;
  const tStop = Date.now();
  if (!crashed) child.kill('SIGTERM');
  const stopTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(stopTimer);
  const stopMs = Date.now() - tStop;
  fs.rmSync(dataDir, { recursive: true, force: true });

  const head = samples.slice(0, 3);
  const tail = samples.slice(-3);
  const pick = (xs: Sample[], k: keyof Sample) => median(xs.map((s) => s[k]));
  const first = samples[0];
  const last = samples.at(-1);
  const elapsedS = last && first ? (last.t - first.t) / 1000 : 0;
  const result = {
    minutes: opts.minutes,
    source: opts.source,
    clients: opts.clients,
    samples: samples.length,
    rss_mb_start: mb(pick(head, 'rss')),
    rss_mb_end: mb(pick(tail, 'rss')),
    rss_mb_max: mb(Math.max(...samples.map((s) => s.rss))),
    heap_used_mb_start: mb(pick(head, 'heap')),
    heap_used_mb_end: mb(pick(tail, 'heap')),
    heap_used_mb_max: mb(Math.max(...samples.map((s) => s.heap))),
    external_mb_start: mb(pick(head, 'external')),
    external_mb_end: mb(pick(tail, 'external')),
    handles_start: pick(head, 'handles'),
    handles_end: pick(tail, 'handles'),
    timers_start: pick(head, 'timers'),
    timers_end: pick(tail, 'timers'),
    frames_processed: last?.frames ?? 0,
    fps_avg: elapsedS > 0 && first && last ? Math.round(((last.frames - first.frames) / elapsedS) * 10) / 10 : 0,
    client_frames: viewers.map((v) => v.frames),
    client_reconnects: viewers.reduce((s, v) => s + v.reconnects, 0),
    captures_saved_and_deleted: captures,
    capture_errors: captureErrors,
    unhealthy_samples: unhealthy,
    log_warnings: counts.warn,
    log_errors: counts.error,
    warn_events: Object.fromEntries(events),
    crashed,
    exit_code: code,
    stop_ms: stopMs,
  };
  const ok = !crashed && code === 0 && unhealthy === 0 && captureErrors === 0 && result.frames_processed > 0;
  if (!opts.json) {
    say(
      `rss ${result.rss_mb_start} → ${result.rss_mb_end} MB (max ${result.rss_mb_max}), heap ${result.heap_used_mb_start} → ${result.heap_used_mb_end} MB, handles ${result.handles_start} → ${result.handles_end}, ${result.frames_processed} frames at ${result.fps_avg} fps; ${ok ? 'OK' : 'FAILED'}`,
    );
  }
  process.stdout.write(JSON.stringify({ ok, ...result }) + '\n');
  return ok ? 0 : 1;
}
