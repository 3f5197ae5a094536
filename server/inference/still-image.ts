// Still-image inference (`crackscope infer`; the command line is cli/infer.ts): one image file →
// <name>.mask.png (crack probability ×255, grayscale), <name>.overlay.png (the image with cracks
// painted magenta, bridged gaps cyan) and <name>.json (the crack report).
//
// Size: the model sees the image at its own size when its longer side is ≤ 1280 px, else scaled down
// to 1280 (aspect kept); the right and bottom edges are then mirror-padded up to multiples of 32 (the
// model accepts any H, W that are multiples of 32) and the pad is cropped off the mask. Padding,
// not stretching, keeps the geometry: measurements are in the image's own pixels. The mask, overlay
// and measurements are at the image's size (capped at 4096 px on the longer side, see MAX_ANALYSIS_SIDE).
import path from 'node:path';
import sharp from 'sharp';
import { analyzeMask, reportToJson, type AnalyzeOptions, type CrackReport } from '../analysis/crack-measure.js';
import { oneLine } from '../log/one-line.js';
import { writeFileAtomic } from '../storage/atomic.js';
import type { CrackSession } from './session.js';

/** longest side the model sees */
export const MAX_MODEL_SIDE = 1280;
/** longest side of the written mask/overlay and of the measured mask */
export const MAX_ANALYSIS_SIDE = 4096;
/** overlay colour for crack pixels: magenta is rare on plaster, stone, ink and ochre */
const CRACK_RGB = [255, 0, 255] as const;
const CRACK_ALPHA = 0.75;
/** overlay colour of a bridged (inferred) gap */
const BRIDGE_RGB = [0, 200, 255] as const;

export interface InferImageResult {
  image: string;
  ok: boolean;
  error?: string;
  name?: string;
  outputs?: { mask: string; overlay: string; report: string };
  width?: number;
  height?: number;
  crack_pixels?: number;
  crack_count?: number;
  total_length_px?: number;
  max_width_px?: number;
  mean_width_px?: number;
  ms?: number;
}

export interface InferImageOptions {
  threshold: number;
  /** millimetres per pixel of the image as given */
  mmPerPx?: number;
  identity: Omit<AnalyzeOptions, 'threshold'>;
}

/** A problem with one input image (unreadable, not an image, too small): reported and skipped. */
export class StillImageError extends Error {}

/** Model input size for an image: scale so the longer side ≤ 1280, then pad each side up to a multiple of 32. */
export function modelGeometry(width: number, height: number, maxSide = MAX_MODEL_SIDE) {
  const s = Math.min(1, maxSide / Math.max(width, height));
  const w = Math.max(1, Math.round(width * s)),
    h = Math.max(1, Math.round(height * s));
  return { scaledWidth: w, scaledHeight: h, inputWidth: Math.max(32, Math.ceil(w / 32) * 32), inputHeight: Math.max(32, Math.ceil(h / 32) * 32) };
}
type Geometry = ReturnType<typeof modelGeometry>;

const raw = (width: number, height: number, channels: 1 | 3) => ({ raw: { width, height, channels } });
const round1 = (v: number) => Math.round(v * 10) / 10;

/**
 * Runs the model on `image` and writes <outDir>/<name>.{mask.png,overlay.png,json}. Throws
 * StillImageError for an image that cannot be used; anything else is a failure of the run.
 */
export async function inferImage(session: CrackSession, image: string, name: string, outDir: string, opts: InferImageOptions): Promise<InferImageResult> {
  const t0 = performance.now();
  const { rgb, width, height } = await decodeStill(image);
  const g = modelGeometry(width, height);
  const input = await modelInput(rgb, width, height, g);
  const tDecoded = performance.now();
  const modelMask = await runCropped(session, input, g);
  const tInfer = performance.now();
  const { mask, picture, width: aw, height: ah } = await toAnalysisSize(modelMask, rgb, width, height, g);
  const scale = width / aw; // image px per analysed px (1 unless the image was larger than 4096 px)
  const mmPerPx = opts.mmPerPx !== undefined ? opts.mmPerPx * scale : undefined;
  const report = analyzeMask(mask, aw, ah, { ...opts.identity, threshold: opts.threshold, mmPerPx });
  const tAnalyze = performance.now();

  const overlay = paintOverlay(picture, mask, aw, ah, opts.threshold, report);
  const base = path.join(outDir, name);
  const outputs = { mask: `${base}.mask.png`, overlay: `${base}.overlay.png`, report: `${base}.json` };
  const m = session.manifest;
  const { width: _w, height: _h, threshold: _t, ...measured } = reportToJson(report);
  const doc = {
    image: image,
    size: { width, height },
    analysis_size: { width: aw, height: ah },
    analysis_scale: scale,
    model_input: { width: g.inputWidth, height: g.inputHeight },
    model: { name: m.name, version: m.version },
    provider: session.provider,
    provider_label: session.providerLabel,
    threshold: opts.threshold,
    outputs: { mask: path.basename(outputs.mask), overlay: path.basename(outputs.overlay) },
    timings_ms: { decode: round1(tDecoded - t0), infer: round1(tInfer - tDecoded), analyze: round1(tAnalyze - tInfer) },
    ...measured,
  };
  await writeOutputs(outputs, mask, overlay, aw, ah, doc);
  return {
    image,
    ok: true,
    name,
    outputs,
    width,
    height,
    crack_pixels: report.crack_pixels,
    crack_count: report.crack_count,
    total_length_px: round1(report.total_length_px),
    max_width_px: round1(report.max_width_px),
    mean_width_px: round1(report.mean_width_px),
    ms: round1(performance.now() - t0),
  };
}

/** Makes a short reason out of sharp/libvips errors. */
function decodeError(err: unknown): string {
  const msg = oneLine(err);
  if (/unsupported image format/i.test(msg)) return 'not an image, or a format sharp cannot read';
  return `cannot decode the image: ${msg}`;
}

/** Decode: EXIF orientation applied, alpha dropped, sRGB 8-bit RGB. */
async function decodeStill(image: string): Promise<{ rgb: Buffer; width: number; height: number }> {
  let rgb: Buffer, width: number, height: number;
  try {
    const { data, info } = await sharp(image, { failOn: 'error', limitInputPixels: 200_000_000 })
      .autoOrient()
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    rgb = data;
    width = info.width;
    height = info.height;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EACCES') throw new StillImageError('permission denied');
    throw new StillImageError(decodeError(err));
  }
  if (width < 8 || height < 8) throw new StillImageError(`image is too small (${width}x${height}); at least 8x8 is needed`);
  return { rgb, width, height };
}

/** Model input: scaled to the model's side, then the right and bottom edges padded to multiples of 32. */
async function modelInput(rgb: Buffer, width: number, height: number, g: Geometry): Promise<Uint8Array> {
  if (g.scaledWidth === g.inputWidth && g.scaledHeight === g.inputHeight && g.scaledWidth === width) return rgb;
  let pipe = sharp(rgb, raw(width, height, 3));
  if (g.scaledWidth !== width || g.scaledHeight !== height) pipe = pipe.resize(g.scaledWidth, g.scaledHeight, { fit: 'fill' });
  const right = g.inputWidth - g.scaledWidth,
    bottom = g.inputHeight - g.scaledHeight;
  if (right || bottom) {
    // mirror needs a pad smaller than the image; tiny images fall back to edge copies
    const extendWith = right < g.scaledWidth && bottom < g.scaledHeight ? 'mirror' : 'copy';
    // (sharp extends after resizing)
    pipe = pipe.extend({ right, bottom, extendWith });
  }
  return pipe.raw().toBuffer();
}

/** Inference; the pad cropped off the mask. */
async function runCropped(session: CrackSession, input: Uint8Array, g: Geometry): Promise<Uint8Array> {
  const out = await session.run(input, g.inputHeight, g.inputWidth);
  const mask = new Uint8Array(g.scaledWidth * g.scaledHeight);
  for (let y = 0; y < g.scaledHeight; y++) mask.set(out.subarray(y * g.inputWidth, y * g.inputWidth + g.scaledWidth), y * g.scaledWidth);
  return mask;
}

/** The mask and the picture back at the image's size (capped at MAX_ANALYSIS_SIDE). */
async function toAnalysisSize(modelMask: Uint8Array, rgb: Buffer, width: number, height: number, g: Geometry) {
  const a = modelGeometry(width, height, MAX_ANALYSIS_SIDE);
  const aw = a.scaledWidth,
    ah = a.scaledHeight;
  let mask = modelMask;
  if (aw !== g.scaledWidth || ah !== g.scaledHeight) {
    mask = new Uint8Array(
      await sharp(modelMask, raw(g.scaledWidth, g.scaledHeight, 1))
        .resize(aw, ah, { fit: 'fill', kernel: 'linear' })
        .toColourspace('b-w')
        .raw()
        .toBuffer(),
    );
  }
  const picture =
    aw === width && ah === height
      ? rgb
      : await sharp(rgb, raw(width, height, 3))
          .resize(aw, ah, { fit: 'fill' })
          .raw()
          .toBuffer();
  return { mask, picture, width: aw, height: ah };
}

/** The picture with crack pixels blended magenta and bridged gaps (inferred, counted in their crack's length) drawn cyan. */
function paintOverlay(picture: Buffer, mask: Uint8Array, aw: number, ah: number, threshold: number, report: CrackReport): Buffer {
  const cut = threshold * 255;
  const overlay = Buffer.from(picture);
  for (let i = 0, j = 0; i < mask.length; i++, j += 3) {
    if (mask[i] >= cut) {
      overlay[j] = Math.round(overlay[j] * (1 - CRACK_ALPHA) + CRACK_RGB[0] * CRACK_ALPHA);
      overlay[j + 1] = Math.round(overlay[j + 1] * (1 - CRACK_ALPHA) + CRACK_RGB[1] * CRACK_ALPHA);
      overlay[j + 2] = Math.round(overlay[j + 2] * (1 - CRACK_ALPHA) + CRACK_RGB[2] * CRACK_ALPHA);
    }
  }
  // bridged gaps in cyan, so a reader sees what was not seen
  for (const b of report.bridges) {
    const [[x0, y0], [x1, y1]] = b.line;
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    for (let k = 0; k <= steps; k++) {
      const x = Math.round(x0 + ((x1 - x0) * k) / steps),
        y = Math.round(y0 + ((y1 - y0) * k) / steps);
      if (x < 0 || y < 0 || x >= aw || y >= ah) continue;
      const j = (y * aw + x) * 3;
      overlay[j] = BRIDGE_RGB[0];
      overlay[j + 1] = BRIDGE_RGB[1];
      overlay[j + 2] = BRIDGE_RGB[2];
    }
  }
  return overlay;
}

/** The three files, each written atomically (a reader never sees half a file). */
async function writeOutputs(
  outputs: { mask: string; overlay: string; report: string },
  mask: Uint8Array,
  overlay: Buffer,
  aw: number,
  ah: number,
  doc: Record<string, unknown>,
): Promise<void> {
  await Promise.all([
    writeFileAtomic(
      outputs.mask,
      await sharp(mask, raw(aw, ah, 1))
        .toColourspace('b-w')
        .png()
        .toBuffer(),
    ),
    writeFileAtomic(
      outputs.overlay,
      await sharp(overlay, raw(aw, ah, 3))
        .png()
        .toBuffer(),
    ),
    writeFileAtomic(outputs.report, JSON.stringify(doc, null, 2) + '\n'),
  ]);
}
