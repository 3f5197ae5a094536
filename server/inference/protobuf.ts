// The protobuf wire format, the part ONNX files need: a writer for varint and length-delimited
// fields and a reader that splits a message into its fields (all four wire types, so unknown
// fields in real models are skipped, not refused). No schema: the ONNX layer (epcontext.ts,
// onnx-graph.ts) knows which field number means what.

const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_I32 = 5;

/** Minimal protobuf writer (varint and length-delimited fields only). */
export class Writer {
  private chunks: Buffer[] = [];
  varint(v: bigint | number) {
    let n = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    while (n >= 0x80n) {
      out.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    out.push(Number(n));
    this.chunks.push(Buffer.from(out));
  }
  private tag(field: number, wt: number) {
    this.varint((field << 3) | wt);
  }
  int(field: number, v: number | bigint) {
    this.tag(field, WT_VARINT);
    this.varint(v);
    return this;
  }
  bytes(field: number, v: Buffer | string) {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    this.tag(field, WT_LEN);
    this.varint(b.length);
    this.chunks.push(b);
    return this;
  }
  /** a packed repeated varint field */
  packed(field: number, values: (number | bigint)[]) {
    const inner = new Writer();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }
  msg(field: number, w: Writer) {
    return this.bytes(field, w.finish());
  }
  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export interface Field {
  field: number;
  wt: number;
  /** varint / fixed value */
  num?: bigint;
  /** length-delimited payload */
  buf?: Buffer;
}

/** The fields of one message, in order; a nested message stays bytes in `buf` until read in turn. */
export function readFields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated protobuf (varint)');
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 70n) throw new Error('bad protobuf varint');
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wt = key & 7;
    if (field === 0) throw new Error('bad protobuf field number 0');
    switch (wt) {
      case WT_VARINT:
        out.push({ field, wt, num: varint() });
        break;
      case WT_I64:
        if (pos + 8 > buf.length) throw new Error('truncated protobuf (fixed64)');
        out.push({ field, wt, num: buf.readBigUInt64LE(pos) });
        pos += 8;
        break;
      case WT_LEN: {
        const len = Number(varint());
        if (pos + len > buf.length) throw new Error(`truncated protobuf (field ${field} wants ${len} bytes)`);
        out.push({ field, wt, buf: buf.subarray(pos, pos + len) });
        pos += len;
        break;
      }
      case WT_I32:
        if (pos + 4 > buf.length) throw new Error('truncated protobuf (fixed32)');
        out.push({ field, wt, num: BigInt(buf.readUInt32LE(pos)) });
        pos += 4;
        break;
      default:
        throw new Error(`unsupported protobuf wire type ${wt} (field ${field}) — not an ONNX model?`);
    }
  }
  return out;
}

/** a length-delimited field as UTF-8 text */
export const str = (f: Field) => (f.buf ?? Buffer.alloc(0)).toString('utf8');
/** a varint field as a signed 64-bit number (as ONNX's int64 fields are) */
export const int64 = (f: Field) => Number(BigInt.asIntN(64, f.num ?? 0n));
