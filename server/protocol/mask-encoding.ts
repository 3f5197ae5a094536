// A crack mask as it goes on the wire: raw, or deflated once by the pipeline when the frame is
// published (its cost is the frame's postprocess time), and deflated here for comparison masks by
// the stream. Server-only (node:zlib), like client-messages.ts; the kiosk inflates with
// DecompressionStream('deflate') (kiosk/src/mask.ts).
import zlib from 'node:zlib';

/** A mask's bytes in the encoding the frame header names (MASK_RAW / MASK_DEFLATE in wire-format.ts). */
export interface EncodedMask {
  bytes: Uint8Array;
  encoding: 'raw' | 'deflate';
}

/**
 * zlib stream (what the kiosk's DecompressionStream('deflate') reads) with the run-length strategy:
 * on crackunet-v1's masks of the demo frames it is both smaller and faster than level 1's default
 * strategy (e.g. 59.7 KB in 1.15 ms vs 72.2 KB in 1.50 ms for the busiest frame, 245.8 KB raw).
 * Synchronous: it is shorter than a hop to the libuv pool and back.
 */
export function deflateMask(mask: Uint8Array): Buffer {
  return zlib.deflateSync(mask, { level: 1, strategy: zlib.constants.Z_RLE });
}
