// Per-stage latency: a window of recent samples for p50/p95 and cumulative histogram buckets for
// Prometheus. Fixed-size typed arrays: recording a sample allocates nothing.
import { STAGES, type Stage } from '../stream/wire-format.js';

export const BUCKETS_MS = [1, 2, 5, 10, 20, 40, 80, 160, 320, 640, 1280];
const WINDOW = 512;

export class LatencyStats {
  private readonly window = new Float64Array(WINDOW);
  private filled = 0;
  private next = 0;
  readonly buckets = new Float64Array(BUCKETS_MS.length);
  count = 0;
  sum = 0;

  record(ms: number) {
    this.window[this.next] = ms;
    this.next = (this.next + 1) % WINDOW;
    if (this.filled < WINDOW) this.filled++;
    this.count++;
    this.sum += ms;
    for (let i = 0; i < BUCKETS_MS.length; i++) if (ms <= BUCKETS_MS[i]) this.buckets[i]++;
  }

  percentile(p: number): number {
    if (this.filled === 0) return 0;
    const sorted = Array.from(this.window.subarray(0, this.filled)).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  }
}

export type StageStats = Record<Stage | 'total', LatencyStats>;

export function createStageStats(): StageStats {
  const s = {} as StageStats;
  for (const stage of [...STAGES, 'total' as const]) s[stage] = new LatencyStats();
  return s;
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
