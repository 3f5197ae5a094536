// Rolling timing statistics in preallocated typed arrays (no allocation per sample).
export class Rolling {
  private buf: Float64Array;
  private scratch: Float64Array;
  private n = 0;
  private i = 0;
  constructor(size = 120) {
    this.buf = new Float64Array(size);
    this.scratch = new Float64Array(size);
  }
  push(v: number): void {
    this.buf[this.i] = v;
    this.i = (this.i + 1) % this.buf.length;
    if (this.n < this.buf.length) this.n++;
  }
  get count(): number {
    return this.n;
  }
  /** q in 0..1; NaN when empty */
  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const s = this.scratch.subarray(0, this.n);
    s.set(this.buf.subarray(0, this.n));
    s.sort();
    return s[Math.min(this.n - 1, Math.floor(q * this.n))];
  }
  mean(): number {
    let t = 0;
    for (let k = 0; k < this.n; k++) t += this.buf[k];
    return this.n ? t / this.n : NaN;
  }
}

/** Events per second over the last `windowMs`. */
export class RateMeter {
  private times: Float64Array;
  private i = 0;
  constructor(
    size = 64,
    private readonly windowMs = 2000,
  ) {
    this.times = new Float64Array(size);
  }
  tick(now: number): void {
    this.times[this.i] = now;
    this.i = (this.i + 1) % this.times.length;
  }
  rate(now: number): number {
    let n = 0;
    let oldest = now;
    for (let k = 0; k < this.times.length; k++) {
      const t = this.times[k];
      if (t > 0 && now - t <= this.windowMs) {
        n++;
        if (t < oldest) oldest = t;
      }
    }
    if (n < 2) return 0;
    return ((n - 1) * 1000) / Math.max(1, now - oldest);
  }
}
