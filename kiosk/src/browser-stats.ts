// What the browser measures about itself: frames received per second, capture-to-screen latency,
// decode, render and receive-to-drawn times, gaps between animation frames, the JS heap. The
// status bar shows some; all of it is window.__crackscope.stats for the tests and the field.
import { RateMeter, Rolling } from './stats.js';

export class BrowserStats {
  /** the numbers, updated in place every half second (the object the test hook exposes) */
  readonly values = {
    fps: 0,
    latencyMsP50: NaN,
    decodeMsP50: NaN,
    renderMsP50: NaN,
    renderMsP95: NaN,
    frameMsP50: NaN,
    frameMsP95: NaN,
    rafGapMsP95: NaN,
    framesReceived: 0,
    framesShown: 0,
    decodeErrors: 0,
    heapMb: NaN,
  };
  private readonly recvRate = new RateMeter();
  private readonly decodeMs = new Rolling(120); // JPEG + mask decode (off the main thread for the JPEG)
  private readonly latency = new Rolling(60);
  private readonly renderMs = new Rolling(120); // texture upload + draw, on the main thread
  private readonly frameMs = new Rolling(120); // message received → drawn
  private readonly rafGap = new Rolling(120); // time between animation frames
  private framesShown = 0;
  private lastRaf = 0;

  frameReceived(receivedAt: number, capturedAt: number): void {
    this.values.framesReceived++;
    this.recvRate.tick(receivedAt);
    this.latency.push(Date.now() - capturedAt);
  }

  decoded(ms: number): void {
    this.decodeMs.push(ms);
  }

  decodeError(): void {
    this.values.decodeErrors++;
  }

  animationFrame(now: number): void {
    if (this.lastRaf) this.rafGap.push(now - this.lastRaf);
    this.lastRaf = now;
  }

  /** A render from t0 to t1; drawnAt = the receive time of the frame it put on screen, if a new one. */
  rendered(t0: number, t1: number, drawnAt: number | null): void {
    this.renderMs.push(t1 - t0);
    if (drawnAt !== null) {
      this.frameMs.push(t1 - drawnAt);
      this.framesShown++;
    }
  }

  update(now: number): void {
    const v = this.values;
    v.fps = this.recvRate.rate(now);
    v.latencyMsP50 = this.latency.quantile(0.5);
    v.decodeMsP50 = this.decodeMs.quantile(0.5);
    v.renderMsP50 = this.renderMs.quantile(0.5);
    v.renderMsP95 = this.renderMs.quantile(0.95);
    v.frameMsP50 = this.frameMs.quantile(0.5);
    v.frameMsP95 = this.frameMs.quantile(0.95);
    v.rafGapMsP95 = this.rafGap.quantile(0.95);
    v.framesShown = this.framesShown;
    const mem = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory; // Chromium only
    if (mem) v.heapMb = mem.usedJSHeapSize / 1048576;
  }
}
