// Mask bytes from a frame message into one reusable buffer (no per-frame allocation for raw masks;
// deflated masks stream through DecompressionStream straight into the same buffer).
import { MASK_DEFLATE, MASK_RAW, type FrameMessage } from '../../server/protocol/wire-format.js';

export class MaskBuffer {
  data = new Uint8Array(0);
  width = 0;
  height = 0;
  /** bumped whenever the buffer is replaced (size change), so textures know to reallocate */
  generation = 0;

  private ensure(w: number, h: number): void {
    if (w !== this.width || h !== this.height) {
      this.width = w;
      this.height = h;
      this.data = new Uint8Array(w * h);
      this.generation++;
    }
  }

  /** Fills the buffer from a frame's mask. Resolves false if the mask could not be decoded. */
  async load(f: Pick<FrameMessage, 'mask' | 'maskBytes'>): Promise<boolean> {
    this.ensure(f.mask.width, f.mask.height);
    if (f.mask.encoding === MASK_RAW) {
      this.data.set(f.maskBytes);
      return true;
    }
    if (f.mask.encoding === MASK_DEFLATE) return this.inflate(f.maskBytes);
    return false;
  }

  /** Copies a mask of any size (e.g. decoded from a capture's PNG). */
  set(data: Uint8Array, w: number, h: number): void {
    this.ensure(w, h);
    this.data.set(data);
  }

  private async inflate(bytes: Uint8Array): Promise<boolean> {
    for (const format of ['deflate', 'deflate-raw'] as const) {
      try {
        const ds = new DecompressionStream(format);
        const writer = ds.writable.getWriter();
        void writer.write(bytes as Uint8Array<ArrayBuffer>).catch(() => {});
        void writer.close().catch(() => {});
        const reader = ds.readable.getReader();
        let off = 0;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const n = Math.min(value.byteLength, this.data.byteLength - off);
          this.data.set(n === value.byteLength ? value : value.subarray(0, n), off);
          off += n;
        }
        if (off === this.data.byteLength) return true;
      } catch {
        /* try the other framing */
      }
    }
    return false;
  }
}
