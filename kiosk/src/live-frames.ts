// Live frames into the view: the latest frame wins (one decode at a time; a newer frame replaces
// the one waiting, never a queue), the mask and the comparison model's mask double-buffered
// (decoded into the back buffer, the front one on screen), and a frame whose comparison mask is
// still on its way (it follows the frame message at once) held until it comes.
import type { ComparisonMaskMessage, FrameMessage } from '../../server/protocol/wire-format.js';
import { MaskBuffer } from './mask.js';
import type { Viewer } from './view.js';

/** The comparison on screen: both models' times and their agreement on this frame. */
export interface ComparisonStats {
  liveMs: number;
  otherMs: number;
  iou: number;
  f1: number;
}

export interface LiveFramesHost {
  /** false while frozen or showing a capture: a frame decoded then is not shown */
  live(): boolean;
  /** the comparison model picked (CompareModelInfo.index), or null */
  compareModel(): number | null;
  /** a comparison mask went on screen, with this frame's numbers */
  comparisonShown(stats: ComparisonStats): void;
  /** a frame's JPEG and mask decoded, in ms */
  decoded(ms: number): void;
  decodeError(): void;
}

export class LiveFrames {
  private front = new MaskBuffer();
  private back = new MaskBuffer();
  private front2 = new MaskBuffer();
  private back2 = new MaskBuffer();
  /** the frame on screen (live or frozen); -1 before the first */
  shownFrameId = -1;
  private busy = false;
  private pending: { f: FrameMessage; t: number; c: ComparisonMaskMessage | null } | null = null;
  /** a frame whose comparison mask is still on its way */
  private awaiting: { f: FrameMessage; t: number } | null = null;
  /** receive time of the frame decoded and waiting to be drawn */
  private drawnAt: number | null = null;

  constructor(
    private readonly viewer: Viewer,
    private readonly host: LiveFramesHost,
  ) {}

  /** the mask on screen (live, frozen or a capture's) */
  get mask(): MaskBuffer {
    return this.front;
  }
  /** the comparison model's mask on screen */
  get mask2(): MaskBuffer {
    return this.front2;
  }

  /** A frame message, while live. */
  frame(f: FrameMessage, t: number): void {
    if (this.awaiting) this.deliver(this.awaiting.f, this.awaiting.t, null); // its comparison mask never came
    this.awaiting = null;
    const model = this.host.compareModel();
    if (model !== null && f.comparisons.some((x) => x.index === model)) this.awaiting = { f, t };
    else this.deliver(f, t, null);
  }

  /** A comparison mask message: shown with the frame it belongs to, if that frame still waits. */
  comparison(c: ComparisonMaskMessage): void {
    if (!this.awaiting || this.awaiting.f.frameId !== c.frameId || c.index !== this.host.compareModel()) return;
    const a = this.awaiting;
    this.awaiting = null;
    this.deliver(a.f, a.t, c);
  }

  /** The comparison model changed: a frame held for the old one's mask is not waited for. */
  forgetAwaiting(): void {
    this.awaiting = null;
  }

  /** Back to live: the frame that arrived while frozen is not shown. */
  dropPending(): void {
    this.pending = null;
  }

  /** A capture's mask on screen in place of the live one. */
  showMask(data: Uint8Array, width: number, height: number): void {
    this.back.set(data, width, height);
    [this.front, this.back] = [this.back, this.front];
    this.viewer.setMask(this.front.data, this.front.width, this.front.height);
  }

  /** The receive time of the frame just drawn, once; null when no new frame waited. */
  takeDrawn(): number | null {
    const t = this.drawnAt;
    this.drawnAt = null;
    return t;
  }

  private deliver(f: FrameMessage, t: number, c: ComparisonMaskMessage | null): void {
    if (this.busy) this.pending = { f, t, c };
    else void this.decode(f, t, c);
  }

  private async decode(f: FrameMessage, receivedAt: number, c: ComparisonMaskMessage | null): Promise<void> {
    this.busy = true;
    const t0 = performance.now();
    try {
      const [bmp, ok, ok2] = await Promise.all([
        createImageBitmap(new Blob([f.jpeg as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' })),
        this.back.load(f),
        c ? this.back2.load(c) : Promise.resolve(false),
      ]);
      this.host.decoded(performance.now() - t0);
      if (!this.host.live()) {
        bmp.close();
      } else {
        this.viewer.setImage(bmp);
        if (ok) {
          [this.front, this.back] = [this.back, this.front];
          this.viewer.setMask(this.front.data, this.front.width, this.front.height);
        } else this.host.decodeError();
        const model = this.host.compareModel();
        const entry = f.comparisons.find((x) => x.index === model);
        if (c && ok2 && entry && c.index === model) {
          [this.front2, this.back2] = [this.back2, this.front2];
          this.viewer.setMask2(this.front2.data, this.front2.width, this.front2.height);
          this.host.comparisonShown({ liveMs: f.timings.inference, otherMs: entry.inferenceMs, iou: entry.iou, f1: entry.f1 });
        }
        this.shownFrameId = f.frameId;
        this.drawnAt = receivedAt;
      }
    } catch {
      this.host.decodeError();
    } finally {
      this.busy = false;
    }
    if (this.pending) {
      const p = this.pending;
      this.pending = null;
      void this.decode(p.f, p.t, p.c);
    }
  }
}
