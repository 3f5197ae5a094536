// The survey's mask while it is being made: a plain file of width × height bytes (row-major,
// crack probability × 255), written band by band from the tile loop and read back in row bands
// by the measurement, with ordinary reads. It is never memory-mapped: libvips maps its own .v
// files whole, and those pages would count against this process's resident memory.
import fs from 'node:fs';

export class RawMaskFile {
  private fd: number | null;

  constructor(
    readonly file: string,
    readonly width: number,
    readonly height: number,
  ) {
    this.fd = fs.openSync(file, 'w+', 0o600);
    fs.ftruncateSync(this.fd, width * height);
  }

  /** Writes full-width rows [y, y + data.length / width). */
  writeRows(y: number, data: Uint8Array): void {
    const fd = this.open();
    const rows = data.length / this.width;
    if (!Number.isInteger(rows) || y < 0 || y + rows > this.height)
      throw new RangeError(`writeRows: ${data.length} bytes at row ${y} do not fit ${this.width}x${this.height}`);
    for (let off = 0; off < data.length;) off += fs.writeSync(fd, data, off, data.length - off, y * this.width + off);
  }

  /** Reads full-width rows [y, y + rows). */
  readRows(y: number, rows: number): Uint8Array {
    const fd = this.open();
    if (y < 0 || rows < 0 || y + rows > this.height) throw new RangeError(`readRows: rows ${y}..${y + rows} outside 0..${this.height}`);
    const out = new Uint8Array(rows * this.width);
    for (let off = 0; off < out.length;) {
      const n = fs.readSync(fd, out, off, out.length - off, y * this.width + off);
      if (n === 0) throw new Error(`readRows: ${this.file} ended early`);
      off += n;
    }
    return out;
  }

  /** One pixel (crack probability × 255), 0 outside the mask: for sampling along a bridge. */
  readAt(x: number, y: number): number {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return 0;
    const b = new Uint8Array(1);
    fs.readSync(this.open(), b, 0, 1, y * this.width + x);
    return b[0];
  }

  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  private open(): number {
    if (this.fd === null) throw new Error(`${this.file} is closed`);
    return this.fd;
  }
}
