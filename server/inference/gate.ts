// The acceptance gate: two models on the same images, their thresholded masks compared (IoU and
// F1 per image and pooled, two empty masks agree) and, with labels, each model's F1 against them;
// a candidate is refused below the limits. `crackscope compare` prints it (cli/compare.ts) and
// `crackscope build-engine` refuses FP16/INT8 engines that disagree with FP32 (engine-build.ts).
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { listImages } from '../camera/image-folder.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../log/logger.js';
import { addCounts, agreementOf, MaskComparer, thresholdByte, type MaskCounts } from './agreement.js';
import type { ModelFiles } from './manifest.js';
import { tensorrtResolver } from './providers.js';
import { createOrtSession } from './session.js';

export { DEFAULT_MAX_F1_DROP, DEFAULT_MIN_IOU } from './gate-limits.js';

/** What the user pointed the gate at is not there (a folder, its images): a usage error for the commands. */
export class GateInputError extends Error {}

/** label PNGs: a pixel at or above this grey level is crack */
const LABEL_THRESHOLD = 128;

/** A model to compare: anything that turns an RGB frame into a mask, with its threshold. */
export interface MaskModel {
  label: string;
  thresholdByte: number;
  run(rgb: Uint8Array, height: number, width: number): Promise<Uint8Array>;
}

export interface ImageResult {
  image: string;
  iou: number;
  f1: number;
  /** F1 of A and of B against the label, when there is one */
  labelF1?: { a: number; b: number };
}

export interface ComparisonReport {
  a: string;
  b: string;
  images: number;
  input: string;
  /** agreement of B with A, pooled over all pixels of all images */
  iou: number;
  f1: number;
  /** per-image IoU: mean and the worst image */
  meanIou: number;
  worst: { image: string; iou: number } | null;
  /** against labels (pooled), when given */
  labels?: { images: number; a: { f1: number; precision: number; recall: number }; b: { f1: number; precision: number; recall: number } };
  perImage: ImageResult[];
}

export interface GateLimits {
  minIou: number;
  maxF1Drop: number;
}

export interface GateVerdict {
  accepted: boolean;
  reasons: string[];
}

/** Pairs each image with its label <labels>/<stem>.png; label PNGs in the image folder itself are not images. */
export function listComparisonImages(folder: string, labels?: string): { image: string; label?: string }[] {
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) throw new GateInputError(`image folder ${folder} does not exist`);
  if (labels && (!fs.existsSync(labels) || !fs.statSync(labels).isDirectory())) throw new GateInputError(`label folder ${labels} does not exist`);
  const stem = (f: string) => path.basename(f, path.extname(f));
  let files = listImages(folder);
  // a captures folder (<dataDir>/captures): one image.jpg per capture, named by its capture id
  if (files.length === 0) {
    const captures = fs
      .readdirSync(folder)
      .filter((id) => !id.startsWith('.') && fs.existsSync(path.join(folder, id, 'image.jpg')))
      .sort();
    if (captures.length)
      return captures.map((id) => ({
        image: path.join(folder, id, 'image.jpg'),
        label: labels && fs.existsSync(path.join(labels, `${id}.png`)) ? path.join(labels, `${id}.png`) : undefined,
      }));
  }
  if (labels && path.resolve(labels) === path.resolve(folder)) {
    const others = new Set(files.filter((f) => path.extname(f).toLowerCase() !== '.png').map(stem));
    files = files.filter((f) => !(path.extname(f).toLowerCase() === '.png' && others.has(stem(f))));
  }
  if (files.length === 0) throw new GateInputError(`no images in ${folder}`);
  return files.map((image) => {
    const label = labels ? path.join(labels, `${stem(image)}.png`) : undefined;
    return { image, label: label && fs.existsSync(label) ? label : undefined };
  });
}

export async function loadRgb(file: string, width: number, height: number): Promise<Uint8Array> {
  const buf = await sharp(file, { failOn: 'error' }).removeAlpha().resize(width, height, { fit: 'fill' }).raw().toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

async function loadLabel(file: string, width: number, height: number): Promise<Uint8Array> {
  const buf = await sharp(file).greyscale().resize(width, height, { fit: 'fill', kernel: 'nearest' }).raw().toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
const prf = (c: MaskCounts) => ({ f1: r4(agreementOf(c).f1), precision: r4(c.b === 0 ? 1 : c.both / c.b), recall: r4(c.a === 0 ? 1 : c.both / c.a) });

/** Runs A and B on every image and measures them against each other (and against labels). */
export async function compareOnImages(o: {
  a: MaskModel;
  b: MaskModel;
  items: { image: string; label?: string }[];
  width: number;
  height: number;
  onImage?: (r: ImageResult) => void;
}): Promise<ComparisonReport> {
  const cmp = await MaskComparer.create();
  const pooled: MaskCounts = { a: 0, b: 0, both: 0 };
  const labelA: MaskCounts = { a: 0, b: 0, both: 0 };
  const labelB: MaskCounts = { a: 0, b: 0, both: 0 };
  const perImage: ImageResult[] = [];
  let labelled = 0;
  try {
    for (const item of o.items) {
      const rgb = await loadRgb(item.image, o.width, o.height);
      const ma = await o.a.run(rgb, o.height, o.width);
      const mb = await o.b.run(rgb, o.height, o.width);
      const c = await cmp.counts(ma, mb, o.a.thresholdByte, o.b.thresholdByte);
      addCounts(pooled, c);
      const name = path.basename(item.image) === 'image.jpg' ? path.basename(path.dirname(item.image)) : path.basename(item.image);
      const r: ImageResult = { image: name, ...agreementOf(c) };
      if (item.label) {
        const label = await loadLabel(item.label, o.width, o.height);
        const la = await cmp.counts(label, ma, LABEL_THRESHOLD, o.a.thresholdByte);
        const lb = await cmp.counts(label, mb, LABEL_THRESHOLD, o.b.thresholdByte);
        addCounts(labelA, la);
        addCounts(labelB, lb);
        labelled++;
        r.labelF1 = { a: agreementOf(la).f1, b: agreementOf(lb).f1 };
      }
      perImage.push(r);
      o.onImage?.(r);
    }
  } finally {
    await cmp.release();
  }
  const worst = perImage.reduce<ImageResult | null>((w, r) => (w === null || r.iou < w.iou ? r : w), null);
  const pooledAgreement = agreementOf(pooled);
  return {
    a: o.a.label,
    b: o.b.label,
    images: perImage.length,
    input: `${o.height}x${o.width}`,
    iou: r4(pooledAgreement.iou),
    f1: r4(pooledAgreement.f1),
    meanIou: r4(perImage.reduce((s, r) => s + r.iou, 0) / Math.max(1, perImage.length)),
    worst: worst ? { image: worst.image, iou: r4(worst.iou) } : null,
    ...(labelled ? { labels: { images: labelled, a: prf(labelA), b: prf(labelB) } } : {}),
    perImage,
  };
}

export function judge(r: ComparisonReport, limits: GateLimits): GateVerdict {
  const reasons: string[] = [];
  if (r.iou < limits.minIou)
    reasons.push(`IoU of ${r.b} with ${r.a} is ${r.iou.toFixed(4)} < ${limits.minIou} (worst image ${r.worst?.image}: ${r.worst?.iou.toFixed(4)})`);
  if (r.labels && r.labels.b.f1 < r.labels.a.f1 - limits.maxF1Drop) {
    reasons.push(`F1 against the labels fell from ${r.labels.a.f1.toFixed(4)} (${r.a}) to ${r.labels.b.f1.toFixed(4)} (${r.b}), more than ${limits.maxF1Drop}`);
  }
  return { accepted: reasons.length === 0, reasons };
}

export function describeReport(r: ComparisonReport): string[] {
  const lines = [
    `${r.b} vs ${r.a} on ${r.images} images at ${r.input}: IoU ${r.iou.toFixed(4)} (pooled), mean per image ${r.meanIou.toFixed(4)}, worst ${r.worst?.image} ${r.worst?.iou.toFixed(4)}; F1 ${r.f1.toFixed(4)}`,
  ];
  if (r.labels) {
    const l = r.labels;
    lines.push(
      `against labels (${l.images} images): ${r.a} F1 ${l.a.f1.toFixed(4)} (P ${l.a.precision.toFixed(3)} R ${l.a.recall.toFixed(3)}), ${r.b} F1 ${l.b.f1.toFixed(4)} (P ${l.b.precision.toFixed(3)} R ${l.b.recall.toFixed(3)})`,
    );
  }
  return lines;
}

/** A model loaded into an ONNX Runtime session, as the gate runs it (release the session when done). */
export async function sessionMaskModel(files: ModelFiles, providers: Config['providers'], config: Config, label: string) {
  const session = await createOrtSession({
    model: files,
    providers,
    threads: config.threads,
    log: createLogger('error'),
    resolveTensorrt: tensorrtResolver(config),
  });
  const model: MaskModel = { label, thresholdByte: thresholdByte(files.manifest.threshold), run: (rgb, h, w) => session.run(rgb, h, w) };
  return { model, session };
}
