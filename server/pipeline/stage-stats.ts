// Per-stage latency as a Prometheus histogram (prom-client), observed on the frame loop, and the
// rolling frame rate. The histogram is registered by /metrics (server/http/metrics.ts).
import { Histogram } from 'prom-client';
import { STAGES, type Stage } from '../protocol/wire-format.js';

export const BUCKETS_MS = [1, 2, 5, 10, 20, 40, 80, 160, 320, 640, 1280];
export type TimedStage = Stage | 'total';

/** One histogram, a child per stage looked up once: observing a sample is a bucket search and two adds. */
export class StageLatency {
  readonly histogram = new Histogram({
    name: 'crackscope_stage_latency_ms',
    help: 'Per-stage latency in milliseconds.',
    labelNames: ['stage'] as const,
    buckets: BUCKETS_MS,
    registers: [],
  });
  private readonly byStage = {} as Record<TimedStage, { observe(ms: number): void }>;

  constructor() {
    for (const stage of [...STAGES, 'total' as const]) {
      this.histogram.zero({ stage }); // every stage is in /metrics from the start, at 0
      this.byStage[stage] = this.histogram.labels({ stage });
    }
  }

  record(stage: TimedStage, ms: number) {
    this.byStage[stage].observe(ms);
  }
}

/** Rolling frame rate over the last few seconds. */
export class RateMeter {
  private readonly times = new Float64Array(64);
  private n = 0;
  tick(now = performance.now()) {
    this.times[this.n++ % this.times.length] = now;
  }
  rate(now = performance.now(), spanMs = 3000): number {
    const len = Math.min(this.n, this.times.length);
    let count = 0;
    let oldest = now;
    for (let i = 0; i < len; i++) {
      const t = this.times[i];
      if (now - t <= spanMs) {
        count++;
        if (t < oldest) oldest = t;
      }
    }
    if (count < 2) return 0;
    return (count - 1) / ((now - oldest) / 1000 || 1);
  }
}

/** The last few samples of one timing, for percentiles (the pipeline's read-ahead learns from them). Allocates nothing per sample. */
export class RecentTimes {
  private readonly window: Float64Array;
  private readonly sorted: Float64Array;
  private next = 0;
  count = 0;
  constructor(size: number) {
    this.window = new Float64Array(size);
    this.sorted = new Float64Array(size);
  }
  record(ms: number) {
    this.window[this.next] = ms;
    this.next = (this.next + 1) % this.window.length;
    this.count++;
  }
  /** 0 while empty */
  percentile(p: number): number {
    const n = Math.min(this.count, this.window.length);
    if (n === 0) return 0;
    const s = this.sorted.subarray(0, n);
    s.set(this.window.subarray(0, n));
    s.sort();
    return s[Math.min(n - 1, Math.floor((p / 100) * n))];
  }
}
