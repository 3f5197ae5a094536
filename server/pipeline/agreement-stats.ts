// Agreement between two models over many frames: cumulative histograms of per-frame IoU and F1 and
// a rolling window, for the JSON summaries (/api/compare, /api/shadow); `observe` feeds the same
// values to the Prometheus histograms (compare.ts). Fixed-size typed arrays.

export const AGREEMENT_BUCKETS = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 1];
const WINDOW = 256;

class Rolling {
  private readonly values = new Float64Array(WINDOW);
  private n = 0;
  push(v: number) {
    this.values[this.n++ % WINDOW] = v;
  }
  get size() {
    return Math.min(this.n, WINDOW);
  }
  summary(d = 4) {
    const k = this.size;
    if (k === 0) return null;
    const s = Array.from(this.values.subarray(0, k)).sort((a, b) => a - b);
    const r = (x: number) => Math.round(x * 10 ** d) / 10 ** d;
    const at = (p: number) => s[Math.min(k - 1, Math.floor(p * k))];
    return { mean: r(s.reduce((a, b) => a + b, 0) / k), min: r(s[0]), p5: r(at(0.05)), p50: r(at(0.5)), p95: r(at(0.95)) };
  }
}

export class Histogram {
  readonly buckets = new Float64Array(AGREEMENT_BUCKETS.length);
  count = 0;
  sum = 0;
  record(v: number) {
    this.count++;
    this.sum += v;
    for (let i = 0; i < AGREEMENT_BUCKETS.length; i++) if (v <= AGREEMENT_BUCKETS[i]) this.buckets[i]++;
  }
}

export class AgreementStats {
  readonly iou = new Histogram();
  readonly f1 = new Histogram();
  private readonly iouWindow = new Rolling();
  private readonly f1Window = new Rolling();
  private readonly msWindow = new Rolling();
  /** pooled pixel counts since start: IoU over all frames at once */
  private pooled = { a: 0, b: 0, both: 0 };
  errors = 0;

  constructor(private readonly observe?: (iou: number, f1: number) => void) {}

  record(r: { iou: number; f1: number; inferenceMs: number; a: number; b: number; both: number }) {
    this.iou.record(r.iou);
    this.f1.record(r.f1);
    this.iouWindow.push(r.iou);
    this.f1Window.push(r.f1);
    this.msWindow.push(r.inferenceMs);
    this.pooled.a += r.a;
    this.pooled.b += r.b;
    this.pooled.both += r.both;
    this.observe?.(r.iou, r.f1);
  }

  get frames() {
    return this.iou.count;
  }

  summary() {
    const { a, b, both } = this.pooled;
    const union = a + b - both;
    return {
      frames: this.frames,
      errors: this.errors,
      window: { frames: this.iouWindow.size, iou: this.iouWindow.summary(), f1: this.f1Window.summary(), inferenceMs: this.msWindow.summary(1) },
      sinceStart: {
        iouMean: this.frames ? Math.round((this.iou.sum / this.frames) * 1e4) / 1e4 : null,
        f1Mean: this.frames ? Math.round((this.f1.sum / this.frames) * 1e4) / 1e4 : null,
        pooledIou: this.frames ? Math.round((union === 0 ? 1 : both / union) * 1e4) / 1e4 : null,
      },
      histogram: {
        le: AGREEMENT_BUCKETS,
        iou: Array.from(this.iou.buckets),
        f1: Array.from(this.f1.buckets),
      },
    };
  }
}
