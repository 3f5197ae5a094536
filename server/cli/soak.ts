// `crackscope soak --minutes N [--clients K] [--source URI] [--json]`: runs the daemon as a child on
// loopback with K viewers (every other one slow: it stops reading for seconds at a time, one of
// them reconnects now and then), saves and deletes a capture every 30 s, and samples /metrics.
// Reports RSS, V8 heap and handle counts at the start and the end; the JSON object is the last
// line of stdout. Exit 0 when the daemon stayed up, kept serving and stopped cleanly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { spawnDaemon, type DaemonChild, type DaemonLogLine } from './daemon-child.js';
import { startProgress } from './progress.js';
import { scalarMetrics } from './scrape-metrics.js';
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
  const say: Say = { line: (msg) => void process.stderr.write(`soak: ${msg}\n`) };
  try {
    // ---- the daemon, on loopback, its warnings and errors counted ----
    const logHealth = new LogHealth();
    const daemon = await spawnDaemon(
      [
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
      { onLog: (l) => logHealth.count(l), stderrLimit: 2000 },
    );
    let gone = false;
    void daemon.exited.then(() => (gone = true));
    say.line(`daemon pid ${daemon.child.pid} on ${daemon.url}, source ${opts.source}, ${opts.clients} viewers, ${opts.minutes} min`);

    // ---- viewers, and the probe that samples /metrics and saves captures ----
    const viewers = Array.from({ length: opts.clients }, (_, i) => new Viewer(`ws://127.0.0.1:${daemon.port}/ws`, i % 2 === 1, i === 1));
    viewers.forEach((v) => v.start());
    const probe = new Probe(daemon.url);

    // ---- run for the minutes asked, unless the daemon goes ----
    await soakFor(opts.minutes, probe, () => gone, say);
    await probe.sample();
    viewers.forEach((v) => v.stop());

    // ---- stop: SIGTERM, SIGKILL after 10 s ----
    const stopped = await stopDaemon(daemon, gone);

    // ---- the result ----
    const result = soakResult(opts, probe.samples, viewers, probe, logHealth, stopped);
    const ok = !stopped.crashed && stopped.code === 0 && probe.unhealthy === 0 && probe.captureErrors === 0 && result.frames_processed > 0;
    if (!opts.json) {
      say.line(
        `rss ${result.rss_mb_start} → ${result.rss_mb_end} MB (max ${result.rss_mb_max}), heap ${result.heap_used_mb_start} → ${result.heap_used_mb_end} MB, handles ${result.handles_start} → ${result.handles_end}, ${result.frames_processed} frames at ${result.fps_avg} fps; ${ok ? 'OK' : 'FAILED'}`,
      );
    }
    process.stdout.write(JSON.stringify({ ok, ...result }) + '\n');
    return ok ? 0 : 1;
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** soak's lines on stderr; while the progress bar runs, above it */
interface Say {
  line(msg: string): void;
}

/** The daemon's warn and error lines, counted, and by event. */
class LogHealth {
  warn = 0;
  error = 0;
  readonly events = new Map<string, number>();
  count(rec: DaemonLogLine) {
    if (rec.level === 'warn') this.warn++;
    if (rec.level === 'error') this.error++;
    if (rec.level === 'warn' || rec.level === 'error') this.events.set(rec.event, (this.events.get(rec.event) ?? 0) + 1);
  }
}

/** What soak asks of the daemon while it runs: /metrics samples, and a capture saved and deleted now and then. */
class Probe {
  readonly samples: Sample[] = [];
  unhealthy = 0;
  captures = 0;
  captureErrors = 0;

  constructor(private readonly base: string) {}

  async sample() {
    try {
      const m = scalarMetrics(await (await fetch(`${this.base}/metrics`)).text());
      this.samples.push({
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
      if (m.crackscope_up !== 1) this.unhealthy++;
    } catch {
      this.unhealthy++;
    }
  }

  async capture() {
    try {
      const r = await fetch(`${this.base}/api/captures`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const body = (await r.json()) as { id?: string };
      if (r.status !== 201 || !body.id) throw new Error(`HTTP ${r.status}`);
      this.captures++;
      const d = await fetch(`${this.base}/api/captures/${body.id}`, { method: 'DELETE' });
      if (d.status !== 204) throw new Error(`delete: HTTP ${d.status}`);
    } catch {
      this.captureErrors++;
    }
  }
}

/** Samples every 10 s after the warm-up and saves a capture every 30 s, until the time is up or the daemon is gone. */
async function soakFor(minutes: number, probe: Probe, gone: () => boolean, say: Say): Promise<void> {
  const t0 = Date.now();
  const end = t0 + minutes * 60_000;
  // its own sample lines already come every 10 s: the plain progress line only once a minute
  const progress = startProgress({ label: 'soak', total: Math.round(minutes * 60), unit: 's', plainEveryMs: 60_000 });
  const plain = say.line;
  say.line = (msg) => progress.log(`soak: ${msg}`, process.stderr);
  try {
    const warmupEnd = t0 + Math.min(WARMUP_MS, (minutes * 60_000) / 4);
    let nextSample = warmupEnd;
    let nextCapture = t0 + 5_000;
    while (Date.now() < end && !gone()) {
      if (Date.now() >= nextSample) {
        await probe.sample();
        nextSample += SAMPLE_EVERY_MS;
        const s = probe.samples.at(-1);
        if (s)
          say.line(
            `${Math.round((Date.now() - t0) / 1000)} s: rss ${mb(s.rss)} MB, heap ${mb(s.heap)} MB, handles ${s.handles}, frames ${s.frames}, clients ${s.clients}`,
          );
      }
      if (Date.now() >= nextCapture) {
        await probe.capture();
        nextCapture += 30_000;
      }
      progress.update(Math.min(Math.round((Date.now() - t0) / 1000), Math.round(minutes * 60)), `${probe.samples.at(-1)?.frames ?? 0} frames`);
      await sleep(250);
    }
  } finally {
    progress.stop();
    say.line = plain;
  }
}

/** SIGTERM (unless it is gone already), SIGKILL after 10 s; how it ended and how long stopping took. */
async function stopDaemon(daemon: DaemonChild, gone: boolean): Promise<{ crashed: boolean; code: number | null; stopMs: number }> {
  const tStop = Date.now();
  const code = gone ? await daemon.exited : await daemon.stop('SIGTERM', 10_000);
  return { crashed: gone, code, stopMs: Date.now() - tStop };
}

/** The JSON result: memory and handles at the start and the end (medians of three samples), frames, viewers, captures, log health. */
function soakResult(
  opts: SoakOptions,
  samples: Sample[],
  viewers: Viewer[],
  probe: Probe,
  logHealth: LogHealth,
  stopped: { crashed: boolean; code: number | null; stopMs: number },
) {
  const head = samples.slice(0, 3);
  const tail = samples.slice(-3);
  const pick = (xs: Sample[], k: keyof Sample) => median(xs.map((s) => s[k]));
  const first = samples[0];
  const last = samples.at(-1);
  const elapsedS = last && first ? (last.t - first.t) / 1000 : 0;
  return {
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
    captures_saved_and_deleted: probe.captures,
    capture_errors: probe.captureErrors,
    unhealthy_samples: probe.unhealthy,
    log_warnings: logHealth.warn,
    log_errors: logHealth.error,
    warn_events: Object.fromEntries(logHealth.events),
    crashed: stopped.crashed,
    exit_code: stopped.code,
    stop_ms: stopped.stopMs,
  };
}
