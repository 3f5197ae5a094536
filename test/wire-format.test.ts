import { describe, expect, it } from 'vitest';
import {
  COMPARISON_HEADER_BYTES,
  HEADER_BYTES,
  MASK_DEFLATE,
  MASK_RAW,
  WireFormatError,
  decodeBinaryMessage,
  decodeFrame,
  encodeComparisonMask,
  encodeFrame,
  frameHeaderBytes,
  type FrameMessage,
} from '../server/protocol/wire-format.js';
import { parseClientMessage } from '../server/protocol/client-messages.js';

function sample(): Omit<FrameMessage, 'comparisons'> & { comparisons?: FrameMessage['comparisons'] } {
  const mask = new Uint8Array(8 * 4).map((_, i) => (i * 37) & 255);
  return {
    frameId: 4_000_000_001,
    capturedAt: 1_795_000_000_123.25,
    sentAt: 1_795_000_000_160.5,
    image: { width: 8, height: 4 },
    mask: { width: 8, height: 4, encoding: MASK_RAW },
    timings: { capture: 1.5, preprocess: 0.25, inference: 40.125, postprocess: 0.5, encode: 2.75, send: 0.125, queue: 3.5 },
    jpeg: new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]),
    maskBytes: mask,
  };
}

describe('wire format', () => {
  it('round-trips every field of a frame message', () => {
    const f = sample();
    const bytes = encodeFrame(f);
    expect(bytes.byteLength).toBe(HEADER_BYTES + 7 + 32);
    const d = decodeFrame(bytes);
    expect(d.frameId).toBe(f.frameId);
    expect(d.capturedAt).toBe(f.capturedAt);
    expect(d.sentAt).toBe(f.sentAt);
    expect(d.image).toEqual(f.image);
    expect(d.mask).toEqual(f.mask);
    for (const [k, v] of Object.entries(f.timings)) expect(d.timings[k as keyof typeof f.timings]).toBeCloseTo(v, 3);
    expect(Array.from(d.jpeg)).toEqual(Array.from(f.jpeg));
    expect(Array.from(d.maskBytes)).toEqual(Array.from(f.maskBytes));
  });

  it("decodes a first protocol-1 server's header (six stages, 68 bytes): the queue stage it did not time reads 0", () => {
    const f = sample();
    const now = encodeFrame(f);
    const old = new Uint8Array(68 + 7 + 32);
    old.set(now.subarray(0, 68));
    new DataView(old.buffer).setUint16(6, 68, true);
    old.set(now.subarray(HEADER_BYTES), 68);
    const d = decodeFrame(old);
    expect(d.timings.inference).toBeCloseTo(40.125, 3);
    expect(d.timings.send).toBeCloseTo(0.125, 3);
    expect(d.timings.queue).toBe(0);
    expect(Array.from(d.jpeg)).toEqual(Array.from(f.jpeg));
    expect(Array.from(d.maskBytes)).toEqual(Array.from(f.maskBytes));
    new DataView(old.buffer).setUint16(6, 64, true);
    expect(() => decodeFrame(old)).toThrow(WireFormatError);
  });

  it('decodes from an ArrayBuffer slice at an offset (as browsers and ws deliver)', () => {
    const bytes = encodeFrame(sample());
    const padded = new Uint8Array(bytes.byteLength + 5);
    padded.set(bytes, 5);
    expect(decodeFrame(padded.subarray(5)).frameId).toBe(4_000_000_001);
  });

  it('rejects truncated, foreign and inconsistent messages with a reason', () => {
    const bytes = encodeFrame(sample());
    expect(() => decodeFrame(bytes.subarray(0, 10))).toThrow(WireFormatError);
    expect(() => decodeFrame(bytes.subarray(0, bytes.byteLength - 1))).toThrow(/frame length/);
    const foreign = bytes.slice();
    foreign[0] = 0;
    expect(() => decodeFrame(foreign)).toThrow(/magic/);
    const wrongMask = encodeFrame({ ...sample(), maskBytes: new Uint8Array(31) });
    expect(() => decodeFrame(wrongMask)).toThrow(/raw mask/);
    // a deflated mask may have any length
    expect(
      decodeFrame(encodeFrame({ ...sample(), mask: { width: 8, height: 4, encoding: MASK_DEFLATE }, maskBytes: new Uint8Array(9) })).maskBytes.byteLength,
    ).toBe(9);
  });

  it('carries per-model comparison stats in the header; readers that skip the block still find the payloads', () => {
    const comparisons = [
      { index: 0, inferenceMs: 41.5, iou: 0.875, f1: 0.9375 },
      { index: 2, inferenceMs: 12.25, iou: 1, f1: 1 },
    ];
    const bytes = encodeFrame({ ...sample(), comparisons });
    expect(frameHeaderBytes(2)).toBe(HEADER_BYTES + 4 + 32);
    expect(bytes.byteLength).toBe(frameHeaderBytes(2) + 7 + 32);
    const d = decodeFrame(bytes);
    expect(d.comparisons).toEqual(comparisons);
    expect(Array.from(d.jpeg)).toEqual(Array.from(sample().jpeg));
    expect(Array.from(d.maskBytes)).toEqual(Array.from(sample().maskBytes));
    // the header-bytes field points past the block: a reader of the fixed layout finds the JPEG there
    const v = new DataView(bytes.buffer, bytes.byteOffset);
    expect(v.getUint16(6, true)).toBe(frameHeaderBytes(2));
    expect(decodeFrame(encodeFrame(sample())).comparisons).toEqual([]);
    // a count the header cannot hold is refused
    const bad = bytes.slice();
    bad[HEADER_BYTES] = 9;
    expect(() => decodeFrame(bad)).toThrow(/cannot hold 9 comparisons/);
  });

  it('round-trips a comparison mask message and tells it from a frame', () => {
    const maskBytes = new Uint8Array(32).map((_, i) => 255 - i);
    const msg = encodeComparisonMask({ frameId: 77, index: 1, mask: { width: 8, height: 4, encoding: MASK_RAW }, maskBytes });
    expect(msg.byteLength).toBe(COMPARISON_HEADER_BYTES + 32);
    const d = decodeBinaryMessage(msg);
    expect(d.kind).toBe('comparison');
    if (d.kind !== 'comparison') return;
    expect(d.comparison).toMatchObject({ frameId: 77, index: 1, mask: { width: 8, height: 4, encoding: MASK_RAW } });
    expect(Array.from(d.comparison.maskBytes)).toEqual(Array.from(maskBytes));
    expect(decodeBinaryMessage(encodeFrame(sample())).kind).toBe('frame');
    expect(() => decodeBinaryMessage(msg.subarray(0, msg.byteLength - 1))).toThrow(/comparison length/);
    expect(() =>
      decodeBinaryMessage(encodeComparisonMask({ frameId: 1, index: 0, mask: { width: 8, height: 4, encoding: MASK_RAW }, maskBytes: new Uint8Array(5) })),
    ).toThrow(/raw comparison mask/);
  });

  it('validates client messages', () => {
    expect(parseClientMessage('{"type":"compare","model":1}')).toEqual({ type: 'compare', model: 1 });
    expect(parseClientMessage('{"type":"compare","model":null}')).toEqual({ type: 'compare', model: null });
    expect(parseClientMessage('{"type":"compare","model":"b"}')).toHaveProperty('error');
    expect(parseClientMessage('{"type":"compare"}')).toHaveProperty('error');
    expect(parseClientMessage('{"type":"ping","t":5}')).toEqual({ type: 'ping', t: 5 });
    expect(parseClientMessage('{"type":"pause"}')).toEqual({ type: 'pause' });
    expect(parseClientMessage('not json')).toEqual({ error: 'message is not valid JSON' });
    expect(parseClientMessage('[1,2]')).toEqual({ error: 'message must be a JSON object' });
    expect(parseClientMessage('{"type":"rm -rf"}')).toHaveProperty('error');
    expect(parseClientMessage('{"type":"ping","t":"x"}')).toHaveProperty('error');
    expect(parseClientMessage('{"type":"ping","t":1,"pad":"' + 'x'.repeat(5000) + '"}')).toHaveProperty('error');
  });
});
