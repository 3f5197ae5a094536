// A one-band 8-bit image on disk that is filled band by band from JS and read back by libvips
// with random access. libvips' own format (.v) is a 64-byte header, the pixels row-major, then
// an XML trailer. We let libvips write a blank file of the right size (so the header and trailer
// are its own), then overwrite the pixel rows in place. Nothing of the whole image is ever in
// JS memory: only the band being written.
import fs from 'node:fs';
import sharp from 'sharp';

const VIPS_HEADER_BYTES = 64;
const VIPS_MAGIC = ['b6a6f208', '08f2a6b6'];

export class VipsMaskFile {
  private constructor(readonly file: string, readonly width: number, readonly height: number, private fd: number | null) {}

  /** Creates `file` (a .v) holding a width×height one-band uchar image of zeros. */
  static async create(file: string, width: number, height: number): Promise<VipsMaskFile> {
    await sharp({ create: { width, height, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .extractChannel(0).toColourspace('b-w').toFile(file);
    const fd = fs.openSync(file, 'r+');
    const head = Buffer.alloc(VIPS_HEADER_BYTES);
    fs.readSync(fd, head, 0, VIPS_HEADER_BYTES, 0);
    const size = fs.fstatSync(fd).size;
    const w = head.readUInt32LE(4), h = head.readUInt32LE(8), bands = head.readUInt32LE(12), format = head.readUInt32LE(20);
    if (!VIPS_MAGIC.includes(head.subarray(0, 4).toString('hex')) || w !== width || h !== height || bands !== 1 || format !== 0 || size < VIPS_HEADER_BYTES + width * height) {
      fs.closeSync(fd);
      throw new Error(`libvips wrote an unexpected .v layout for ${file} (${w}x${h}x${bands}, format ${format}, ${size} bytes)`);
    }
    return new VipsMaskFile(file, width, height, fd);
  }

  /** Writes full-width rows [y, y + rows) from `data` (rows × width bytes). */
  writeRows(y: number, data: Uint8Array): void {
    if (this.fd === null) throw new Error('mask file is closed');
    const rows = data.length / this.width;
    if (!Number.isInteger(rows) || y < 0 || y + rows > this.height) throw new RangeError(`writeRows: ${data.length} bytes at row ${y} do not fit ${this.width}x${this.height}`);
    let off = 0;
    while (off < data.length) off += fs.writeSync(this.fd, data, off, data.length - off, VIPS_HEADER_BYTES + y * this.width + off);
  }

  close(): void {
    if (this.fd !== null) {
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }
}
