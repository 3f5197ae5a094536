// The one description of crackscope's WebSocket protocol. Imported by the server (Node) and bundled
// into the kiosk (browser), so it uses only DataView/Uint8Array/TextDecoder — no Node Buffer.
import type { WsErrorCode } from './errors.js';

export const PROTOCOL_VERSION = 1;

/**
 * Stages timed per frame, in the order they are written into the binary header. Each is that
 * stage's own time. The stages overlap across frames (frame N is published while N+1 is in the
 * model), and within a frame the display JPEG (`encode`) runs beside the model; `queue` is the time
 * the frame waited (for the model to free up, for its JPEG, behind the next frame's hand-off), so
 * queue + preprocess + inference + postprocess = capturedAt → sentAt, and + send = end to end.
 * `capture` (the read from the camera process) ends at capturedAt.
 */
export const STAGES = ['capture', 'preprocess', 'inference', 'postprocess', 'encode', 'send', 'queue'] as const;
export type Stage = (typeof STAGES)[number];
export type StageTimings = Record<Stage, number>;

export type ProviderName = 'tensorrt' | 'cuda' | 'webgpu' | 'cpu';

/** A provider before the running one that was not used, and why (in the log, /healthz and hello). */
export type ProviderFallback = { provider: string; reason: string };

/** What the service is doing: 'live' while frames flow; otherwise what is wrong (status message, /healthz). */
export type ServiceState = 'starting' | 'live' | 'source-down' | 'model-error' | 'stopping';

export interface HelloMessage {
  type: 'hello';
  protocol: number;
  model: { name: string; version: string; threshold: number; input: { height: number; width: number } };
  provider: ProviderName;
  /** Human-readable provider label, e.g. "TensorRT FP16" or "CPU". */
  providerLabel: string;
  /** Why each provider before the running one was not used. */
  fallbacks: ProviderFallback[];
  mask: { width: number; height: number };
  source: string;
  /** Models run beside the live one on every frame (`serve --compare`); absent when there are none. */
  compare?: CompareModelInfo[];
}

/** A comparison model as viewers see it; `index` is what frames and the 'compare' message use. */
export interface CompareModelInfo {
  index: number;
  name: string;
  version: string;
  threshold: number;
  providerLabel: string;
}

export interface StatusMessage {
  type: 'status';
  /** 'live' while frames flow; otherwise what is wrong, in words a technician can act on. */
  state: ServiceState;
  reason?: string;
  fps: number;
  clients: number;
}

export interface ErrorMessage {
  type: 'error';
  /** errors.ts's catalogue, the same spelling as HTTP error codes */
  code: WsErrorCode;
  message: string;
}

export interface PongMessage {
  type: 'pong';
  /** the client's t, echoed */
  t: number;
  serverTime: number;
}

export type ServerTextMessage = HelloMessage | StatusMessage | ErrorMessage | PongMessage;

/**
 * Messages a client may send: declared with their schema in client-messages.ts (server-only).
 * 'compare' picks the comparison model whose mask the client wants with each frame (a
 * ComparisonMaskMessage right after the frame message); model null stops them.
 */
export type { ClientMessage } from './client-messages.js';

export const MASK_RAW = 0;
export const MASK_DEFLATE = 1;

/** A decoded binary frame message. `jpeg` and `mask` are views into the received buffer. */
export interface FrameMessage {
  frameId: number;
  /** Wall-clock time (ms since epoch) the frame left the camera source. */
  capturedAt: number;
  /** Wall-clock time (ms since epoch) the server sent the message. */
  sentAt: number;
  image: { width: number; height: number };
  mask: { width: number; height: number; encoding: number };
  timings: StageTimings;
  jpeg: Uint8Array;
  /** uint8 crack probability ×255, row-major height×width (deflated if encoding is MASK_DEFLATE). */
  maskBytes: Uint8Array;
  /** Per comparison model: its time and its agreement with the live mask on this frame (empty without --compare). */
  comparisons: ComparisonStats[];
}

/** One comparison model's result on one frame, against the live model's mask. */
export interface ComparisonStats {
  /** CompareModelInfo.index */
  index: number;
  inferenceMs: number;
  /** IoU and F1 of the thresholded masks (each at its own model's threshold); 1 when both are empty */
  iou: number;
  f1: number;
}

/** A comparison model's mask for a frame: sent right after that frame's message to clients that asked. */
export interface ComparisonMaskMessage {
  frameId: number;
  /** CompareModelInfo.index */
  index: number;
  mask: { width: number; height: number; encoding: number };
  maskBytes: Uint8Array;
}

// Header layout (little-endian), HEADER_BYTES long:
//   0  u32 magic "CSF1"      4  u8 version   5 u8 mask encoding   6 u16 header bytes
//   8  u32 frame id          12 f64 capturedAt   20 f64 sentAt
//   28 u16 image width       30 u16 image height  32 u16 mask width  34 u16 mask height
//   36 u32 jpeg bytes        40 u32 mask bytes
//   44 f32 × STAGES.length   stage timings in ms
//   HEADER_BYTES..header bytes: the comparison block, present only with comparison models (older
//   readers skip it, since the JPEG starts at "header bytes"):
//      u8 count, 3 reserved; then count × 16 bytes: u8 model index, 3 reserved, f32 inference ms, f32 iou, f32 f1
const MAGIC = 0x31465343; // "CSF1" read as little-endian u32
const TIMINGS_OFFSET = 44;
export const HEADER_BYTES = TIMINGS_OFFSET + 4 * STAGES.length;
const COMPARISON_ENTRY_BYTES = 16;
/** A server from before the `queue` stage wrote 68-byte headers (six timings, no comparisons): they still decode, queue as 0. */
const SIX_STAGE_HEADER_BYTES = TIMINGS_OFFSET + 4 * 6;

/** Header length of a frame message carrying `comparisons` entries. */
export const frameHeaderBytes = (comparisons: number) => (comparisons > 0 ? HEADER_BYTES + 4 + COMPARISON_ENTRY_BYTES * comparisons : HEADER_BYTES);

/** What the header holds: the frame message's fields, with the payloads' lengths instead of the payloads. */
export type FrameHeaderFields = Omit<FrameMessage, 'jpeg' | 'maskBytes' | 'comparisons'> & {
  jpegBytes: number;
  maskBytes: number;
  comparisons?: ComparisonStats[];
};

/** Writes the header into `out` (at least frameHeaderBytes(comparisons) long). The payloads follow it: jpeg, then mask. */
export function writeFrameHeader(out: Uint8Array, f: FrameHeaderFields): void {
  const comparisons = f.comparisons ?? [];
  const headerBytes = frameHeaderBytes(comparisons.length);
  const v = new DataView(out.buffer, out.byteOffset, headerBytes);
  v.setUint32(0, MAGIC, true);
  v.setUint8(4, PROTOCOL_VERSION);
  v.setUint8(5, f.mask.encoding);
  v.setUint16(6, headerBytes, true);
  v.setUint32(8, f.frameId >>> 0, true);
  v.setFloat64(12, f.capturedAt, true);
  v.setFloat64(20, f.sentAt, true);
  v.setUint16(28, f.image.width, true);
  v.setUint16(30, f.image.height, true);
  v.setUint16(32, f.mask.width, true);
  v.setUint16(34, f.mask.height, true);
  v.setUint32(36, f.jpegBytes, true);
  v.setUint32(40, f.maskBytes, true);
  STAGES.forEach((s, i) => v.setFloat32(TIMINGS_OFFSET + 4 * i, f.timings[s] ?? 0, true));
  if (comparisons.length === 0) return;
  v.setUint32(HEADER_BYTES, comparisons.length, true); // count in the low byte, reserved bytes zero
  comparisons.forEach((c, i) => {
    const o = HEADER_BYTES + 4 + COMPARISON_ENTRY_BYTES * i;
    v.setUint32(o, c.index & 0xff, true);
    v.setFloat32(o + 4, c.inferenceMs, true);
    v.setFloat32(o + 8, c.iou, true);
    v.setFloat32(o + 12, c.f1, true);
  });
}

/** Sets the sentAt field of an already written header (the send stage is known only at the last moment). */
export function stampSentAt(header: Uint8Array, sentAt: number): void {
  new DataView(header.buffer, header.byteOffset, HEADER_BYTES).setFloat64(20, sentAt, true);
}

/** Encodes a whole frame message into one new buffer. The server's hot path uses writeFrameHeader instead. */
export function encodeFrame(f: Omit<FrameMessage, 'comparisons'> & { comparisons?: ComparisonStats[] }): Uint8Array {
  const hb = frameHeaderBytes(f.comparisons?.length ?? 0);
  const out = new Uint8Array(hb + f.jpeg.byteLength + f.maskBytes.byteLength);
  writeFrameHeader(out, { ...f, jpegBytes: f.jpeg.byteLength, maskBytes: f.maskBytes.byteLength });
  out.set(f.jpeg, hb);
  out.set(f.maskBytes, hb + f.jpeg.byteLength);
  return out;
}

export class WireFormatError extends Error {}

/** Decodes a binary frame message; throws WireFormatError on anything malformed. */
export function decodeFrame(data: ArrayBuffer | Uint8Array): FrameMessage {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.byteLength < SIX_STAGE_HEADER_BYTES) throw new WireFormatError(`frame message too short: ${bytes.byteLength} bytes`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== MAGIC) throw new WireFormatError('not a crackscope frame (bad magic)');
  const version = v.getUint8(4);
  if (version !== PROTOCOL_VERSION) throw new WireFormatError(`unsupported frame version ${version}`);
  const headerBytes = v.getUint16(6, true);
  if (headerBytes < HEADER_BYTES && headerBytes !== SIX_STAGE_HEADER_BYTES) throw new WireFormatError(`header too short: ${headerBytes}`);
  const jpegBytes = v.getUint32(36, true);
  const maskBytes = v.getUint32(40, true);
  if (headerBytes + jpegBytes + maskBytes !== bytes.byteLength) {
    throw new WireFormatError(`frame length ${bytes.byteLength} != header ${headerBytes} + jpeg ${jpegBytes} + mask ${maskBytes}`);
  }
  const encoding = v.getUint8(5);
  const mask = { width: v.getUint16(32, true), height: v.getUint16(34, true), encoding };
  if (encoding === MASK_RAW && maskBytes !== mask.width * mask.height) {
    throw new WireFormatError(`raw mask is ${maskBytes} bytes, expected ${mask.width}x${mask.height}`);
  }
  const timings = {} as StageTimings;
  const timed = headerBytes === SIX_STAGE_HEADER_BYTES ? 6 : STAGES.length;
  STAGES.forEach((s, i) => (timings[s] = i < timed ? v.getFloat32(TIMINGS_OFFSET + 4 * i, true) : 0));
  const comparisons: ComparisonStats[] = [];
  if (headerBytes >= HEADER_BYTES + 4) {
    const count = v.getUint8(HEADER_BYTES);
    if (headerBytes < frameHeaderBytes(count)) throw new WireFormatError(`header of ${headerBytes} bytes cannot hold ${count} comparisons`);
    for (let i = 0; i < count; i++) {
      const o = HEADER_BYTES + 4 + COMPARISON_ENTRY_BYTES * i;
      comparisons.push({ index: v.getUint8(o), inferenceMs: v.getFloat32(o + 4, true), iou: v.getFloat32(o + 8, true), f1: v.getFloat32(o + 12, true) });
    }
  }
  return {
    frameId: v.getUint32(8, true),
    capturedAt: v.getFloat64(12, true),
    sentAt: v.getFloat64(20, true),
    image: { width: v.getUint16(28, true), height: v.getUint16(30, true) },
    mask,
    timings,
    jpeg: bytes.subarray(headerBytes, headerBytes + jpegBytes),
    maskBytes: bytes.subarray(headerBytes + jpegBytes),
    comparisons,
  };
}

// Comparison mask message layout (little-endian), COMPARISON_HEADER_BYTES long, then the mask:
//   0 u32 magic "CSM1"   4 u8 version   5 u8 mask encoding   6 u16 header bytes
//   8 u32 frame id       12 u8 model index, 3 reserved      16 u16 mask width  18 u16 mask height
//   20 u32 mask bytes
const COMPARISON_MAGIC = 0x314d5343; // "CSM1"
export const COMPARISON_HEADER_BYTES = 24;

export function encodeComparisonMask(m: ComparisonMaskMessage): Uint8Array {
  const out = new Uint8Array(COMPARISON_HEADER_BYTES + m.maskBytes.byteLength);
  const v = new DataView(out.buffer, out.byteOffset, COMPARISON_HEADER_BYTES);
  v.setUint32(0, COMPARISON_MAGIC, true);
  v.setUint8(4, PROTOCOL_VERSION);
  v.setUint8(5, m.mask.encoding);
  v.setUint16(6, COMPARISON_HEADER_BYTES, true);
  v.setUint32(8, m.frameId >>> 0, true);
  v.setUint8(12, m.index);
  v.setUint16(16, m.mask.width, true);
  v.setUint16(18, m.mask.height, true);
  v.setUint32(20, m.maskBytes.byteLength, true);
  out.set(m.maskBytes, COMPARISON_HEADER_BYTES);
  return out;
}

function decodeComparisonMask(bytes: Uint8Array, v: DataView): ComparisonMaskMessage {
  if (bytes.byteLength < COMPARISON_HEADER_BYTES) throw new WireFormatError(`comparison message too short: ${bytes.byteLength} bytes`);
  const version = v.getUint8(4);
  if (version !== PROTOCOL_VERSION) throw new WireFormatError(`unsupported comparison version ${version}`);
  const headerBytes = v.getUint16(6, true);
  const maskBytes = v.getUint32(20, true);
  if (headerBytes < COMPARISON_HEADER_BYTES || headerBytes + maskBytes !== bytes.byteLength) {
    throw new WireFormatError(`comparison length ${bytes.byteLength} != header ${headerBytes} + mask ${maskBytes}`);
  }
  const mask = { width: v.getUint16(16, true), height: v.getUint16(18, true), encoding: v.getUint8(5) };
  if (mask.encoding === MASK_RAW && maskBytes !== mask.width * mask.height) {
    throw new WireFormatError(`raw comparison mask is ${maskBytes} bytes, expected ${mask.width}x${mask.height}`);
  }
  return { frameId: v.getUint32(8, true), index: v.getUint8(12), mask, maskBytes: bytes.subarray(headerBytes) };
}

export type BinaryMessage = { kind: 'frame'; frame: FrameMessage } | { kind: 'comparison'; comparison: ComparisonMaskMessage };

/** Decodes any binary server message: a frame, or a comparison model's mask for a frame. */
export function decodeBinaryMessage(data: ArrayBuffer | Uint8Array): BinaryMessage {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.byteLength >= 4) {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (v.getUint32(0, true) === COMPARISON_MAGIC) return { kind: 'comparison', comparison: decodeComparisonMask(bytes, v) };
  }
  return { kind: 'frame', frame: decodeFrame(bytes) };
}
