// The one description of crackscope's WebSocket protocol. Imported by the server (Node) and bundled
// into the kiosk (browser), so it uses only DataView/Uint8Array/TextDecoder — no Node Buffer.

export const PROTOCOL_VERSION = 1;

/** Stages timed per frame, in the order they are written into the binary header. */
export const STAGES = ['capture', 'preprocess', 'inference', 'postprocess', 'encode', 'send'] as const;
export type Stage = (typeof STAGES)[number];
export type StageTimings = Record<Stage, number>;

export type ProviderName = 'tensorrt' | 'cuda' | 'webgpu' | 'cpu';

export interface HelloMessage {
  type: 'hello';
  protocol: number;
  model: { name: string; version: string; threshold: number; input: { height: number; width: number } };
  provider: ProviderName;
  /** Human-readable provider label, e.g. "TensorRT FP16" or "CPU". */
  providerLabel: string;
  /** Why each provider before the running one was not used. */
  fallbacks: { provider: string; reason: string }[];
  mask: { width: number; height: number };
  source: string;
}

export interface StatusMessage {
  type: 'status';
  /** 'live' while frames flow; otherwise what is wrong, in words a technician can act on. */
  state: 'live' | 'starting' | 'source-down' | 'model-error' | 'stopping';
  reason?: string;
  fps: number;
  clients: number;
}

export interface ErrorMessage {
  type: 'error';
  code: string;
  message: string;
}

export interface PongMessage {
  type: 'pong';
  /** the client's t, echoed */
  t: number;
  serverTime: number;
}

export type ServerTextMessage = HelloMessage | StatusMessage | ErrorMessage | PongMessage;

/** Messages a client may send: declared with their schema in client-messages.ts (server-only). */
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
}

// Header layout (little-endian), HEADER_BYTES long:
//   0  u32 magic "CSF1"      4  u8 version   5 u8 mask encoding   6 u16 header bytes
//   8  u32 frame id          12 f64 capturedAt   20 f64 sentAt
//   28 u16 image width       30 u16 image height  32 u16 mask width  34 u16 mask height
//   36 u32 jpeg bytes        40 u32 mask bytes
//   44 f32 × STAGES.length   stage timings in ms
const MAGIC = 0x31465343; // "CSF1" read as little-endian u32
const TIMINGS_OFFSET = 44;
export const HEADER_BYTES = TIMINGS_OFFSET + 4 * STAGES.length;

/** What the fixed header holds: the frame message's fields, with the payloads' lengths instead of the payloads. */
export type FrameHeaderFields = Omit<FrameMessage, 'jpeg' | 'maskBytes'> & { jpegBytes: number; maskBytes: number };

/** Writes the fixed header into `out` (at least HEADER_BYTES long). The payloads follow it: jpeg, then mask. */
export function writeFrameHeader(out: Uint8Array, f: FrameHeaderFields): void {
  const v = new DataView(out.buffer, out.byteOffset, HEADER_BYTES);
  v.setUint32(0, MAGIC, true);
  v.setUint8(4, PROTOCOL_VERSION);
  v.setUint8(5, f.mask.encoding);
  v.setUint16(6, HEADER_BYTES, true);
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
}

/** Sets the sentAt field of an already written header (the send stage is known only at the last moment). */
export function stampSentAt(header: Uint8Array, sentAt: number): void {
  new DataView(header.buffer, header.byteOffset, HEADER_BYTES).setFloat64(20, sentAt, true);
}

/** Encodes a whole frame message into one new buffer. The server's hot path uses writeFrameHeader instead. */
export function encodeFrame(f: FrameMessage): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + f.jpeg.byteLength + f.maskBytes.byteLength);
  writeFrameHeader(out, { ...f, jpegBytes: f.jpeg.byteLength, maskBytes: f.maskBytes.byteLength });
  out.set(f.jpeg, HEADER_BYTES);
  out.set(f.maskBytes, HEADER_BYTES + f.jpeg.byteLength);
  return out;
}

export class WireFormatError extends Error {}

/** Decodes a binary frame message; throws WireFormatError on anything malformed. */
export function decodeFrame(data: ArrayBuffer | Uint8Array): FrameMessage {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.byteLength < HEADER_BYTES) throw new WireFormatError(`frame message too short: ${bytes.byteLength} bytes`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== MAGIC) throw new WireFormatError('not a crackscope frame (bad magic)');
  const version = v.getUint8(4);
  if (version !== PROTOCOL_VERSION) throw new WireFormatError(`unsupported frame version ${version}`);
  const headerBytes = v.getUint16(6, true);
  if (headerBytes < HEADER_BYTES) throw new WireFormatError(`header too short: ${headerBytes}`);
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
  STAGES.forEach((s, i) => (timings[s] = v.getFloat32(TIMINGS_OFFSET + 4 * i, true)));
  return {
    frameId: v.getUint32(8, true),
    capturedAt: v.getFloat64(12, true),
    sentAt: v.getFloat64(20, true),
    image: { width: v.getUint16(28, true), height: v.getUint16(30, true) },
    mask,
    timings,
    jpeg: bytes.subarray(headerBytes, headerBytes + jpegBytes),
    maskBytes: bytes.subarray(headerBytes + jpegBytes),
  };
}
