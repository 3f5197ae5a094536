// `crackscope infer <image|folder>… [--out DIR] [--model NAME] [--threshold X] [--mm-per-px X] [--json]`
//
// For each still image: decode (sharp), run the crack model, write <name>.mask.png (crack probability
// ×255, grayscale), <name>.overlay.png (the image with cracks painted magenta) and <name>.json (the
// crack report), and print one summary line. A bad input prints one line on stderr and the others
// are still processed; the exit code is then 1.
//
// Size: the model sees the image at its own size when its longer side is ≤ 1280 px, else scaled down
// to 1280 (aspect kept); the right and bottom edges are then mirror-padded up to multiples of 32 (the
// model accepts any H, W that are multiples of 32) and the pad is cropped off the mask. Padding,
// not stretching, keeps the geometry: measurements are in the image's own pixels. The mask, overlay
// and measurements are at the image's size (capped at 4096 px on the longer side, see MAX_ANALYSIS).
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { analyzeMask, identityOptions, reportToJson, type AnalyzeOptions } from '../analysis/crack-measure.js';
import { ConfigError } from '../config/load.js';
import { reportLanguage } from '../i18n/report-language.js';
import { configFromOptions } from './config-options.js';
import { startProgress } from './progress.js';
import { resolveModel } from '../inference/manifest.js';
import { createCrackSession, type CrackSession } from '../inference/session.js';
import { createLogger, type LogLevel } from '../log/logger.js';
import { oneLine } from '../log/one-line.js';
import { writeFileAtomic } from '../storage/atomic.js';

export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff'];
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

const isOutputName = (f: string) => /\.(mask|overlay)\.png$/i.test(f);

/** The images a path stands for: a file = itself, a folder = its images (not our own outputs), sorted. */
export function expandInput(p: string): { images: string[]; error?: string } {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { images: [], error: code === 'ENOENT' ? 'no such file or folder' : `cannot read it (${code ?? (err as Error).message})` };
  }
  if (st.isDirectory()) {
    let names: string[];
    try {
      names = fs.readdirSync(p);
    } catch (err) {
      return { images: [], error: `cannot list the folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
    }
    const images = names
      .filter((f) => IMAGE_EXTENSIONS.includes(path.extname(f).slice(1).toLowerCase()) && !isOutputName(f))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
      .map((f) => path.join(p, f))
      .filter((f) => fs.statSync(f).isFile());
    return images.length ? { images } : { images: [], error: `the folder holds no images (${IMAGE_EXTENSIONS.join(', ')})` };
  }
  return { images: [p] };
}

/** Model input size for an image: scale so the longer side ≤ 1280, then pad each side up to a multiple of 32. */
export function modelGeometry(width: number, height: number, maxSide = MAX_MODEL_SIDE) {
  const s = Math.min(1, maxSide / Math.max(width, height));
  const w = Math.max(1, Math.round(width * s)),
    h = Math.max(1, Math.round(height * s));
  return { scaledWidth: w, scaledHeight: h, inputWidth: Math.max(32, Math.ceil(w / 32) * 32), inputHeight: Math.max(32, Math.ceil(h / 32) * 32) };
}

/** Makes a short reason out of sharp/libvips errors. */
function decodeError(err: unknown): string {
  const msg = oneLine(err);
  if (/unsupported image format/i.test(msg)) return 'not an image, or a format sharp cannot read';
  return `cannot decode the image: ${msg}`;
}

export async function runInfer(inputs: string[], opts: Record<string, unknown>): Promise<number> {
  const config = configFromOptions(opts); // ConfigError → main prints it and exits 78
  const extra = opts as { out: string; threshold?: string; mmPerPx?: string; json?: boolean; lang?: string };
  // the language of the per-image lines: --lang, else the kiosk's default, else English (the JSON stays as it is)
  const L = reportLanguage(extra.lang ?? (config.kioskDefaultLanguage || 'en'), config.kioskLanguages);
  const json = extra.json === true;
  const outDir = path.resolve(extra.out);
  let mmPerPx: number | undefined;
  if (extra.mmPerPx !== undefined) {
    mmPerPx = Number(extra.mmPerPx);
    if (!(mmPerPx > 0 && Number.isFinite(mmPerPx)))
      throw new ConfigError(`config error: --mm-per-px = ${JSON.stringify(extra.mmPerPx)} is not allowed; expected a number > 0 (millimetres per image pixel)`);
  }

  const model = resolveModel(config.modelsDir, config.model); // ModelError → exit 78
  let threshold = model.manifest.threshold;
  if (extra.threshold !== undefined) {
    threshold = Number(extra.threshold);
    if (!(threshold > 0 && threshold < 1))
      throw new ConfigError(`config error: --threshold = ${JSON.stringify(extra.threshold)} is not allowed; expected a number in (0, 1)`);
  }

  // Logs go to stderr so stdout stays the summary; only errors unless --log-level says otherwise.
  const level: LogLevel = opts.logLevel !== undefined ? config.logLevel : 'error';
  const log = createLogger(level, { cmd: 'infer' }, (l) => process.stderr.write(l));
  const out = json ? process.stderr : process.stdout; // the per-image lines

  const session = await createCrackSession({
    model,
    providers: config.providers,
    threads: config.threads,
    log,
    logLevel: level, // the inference worker's own logger (stdout) stays quiet below this
    // The TensorRT engine is built for one static shape (the live size); infer runs every image at
    // its own size, so it uses the next provider.
    resolveTensorrt: () => ({ ok: false, reason: 'infer runs each image at its own size; the TensorRT engine is built for the live size only' }),
  });

  try {
    fs.mkdirSync(outDir, { recursive: true });
  } catch (err) {
    await session.release();
    process.stderr.write(`crackscope infer: cannot create the output folder ${outDir}: ${oneLine(err)}\n`);
    return 73; // EX_CANTCREAT
  }

  // the work, in the order given: each input's images, or why it has none
  type Work = { input: string; image: string } | { input: string; error: string };
  const work = inputs.flatMap((input): Work[] => {
    const { images, error } = expandInput(input);
    return error ? [{ input, error }] : images.map((image) => ({ input, image }));
  });
  const total = work.filter((w) => 'image' in w).length;
  const progress = total > 1 ? startProgress({ label: 'infer', total, unit: 'images' }) : undefined;
  const say = (line: string) => (progress ? progress.log(line, out) : out.write(line + '\n'));
  const complain = (line: string) => (progress ? progress.log(line, process.stderr) : process.stderr.write(line + '\n'));
  const results: InferImageResult[] = [];
  const usedNames = new Set<string>();
  let done = 0;
  try {
    for (const w of work) {
      if (!('image' in w)) {
        complain(`crackscope infer: ${w.input}: ${w.error}`);
        results.push({ image: w.input, ok: false, error: w.error });
        continue;
      }
      const { image } = w;
      let name = path.basename(image).replace(/\.[^.]+$/, '') || 'image';
      for (let i = 2; usedNames.has(name); i++) name = `${path.basename(image).replace(/\.[^.]+$/, '')}-${i}`;
      usedNames.add(name);
      progress?.update(done, path.basename(image));
      try {
        const r = await inferOne(session, image, name, outDir, { threshold, mmPerPx, identity: identityOptions(config) });
        results.push(r);
        say(
          `${L.t('infer_line', { image, cracks: L.t('infer_cracks', { count: r.crack_count!, defaultValue: String(r.crack_count) }), pixels: L.num(r.crack_pixels!), length: L.num(r.total_length_px!, 1), max: L.num(r.max_width_px!, 1), mean: L.num(r.mean_width_px!, 1) })}  [${r.width}x${r.height}, ${session.providerLabel}, ${Math.round(r.ms!)} ms] -> ${path.join(outDir, name)}.{mask.png,overlay.png,json}`,
        );
      } catch (err) {
        usedNames.delete(name);
        const msg = err instanceof ImageError ? err.message : `failed: ${oneLine(err)}`;
        complain(`crackscope infer: ${image}: ${msg}`);
        results.push({ image, ok: false, error: msg });
      }
      progress?.update(++done);
    }
  } finally {
    progress?.stop();
    await session.release();
  }

  const failed = results.filter((r) => !r.ok).length;
  if (json) {
    const m = model.manifest;
    process.stdout.write(
      JSON.stringify({
        model: m.name,
        version: m.version,
        provider: session.provider,
        provider_label: session.providerLabel,
        fallbacks: session.fallbacks,
        threshold,
        mm_per_px: mmPerPx ?? null,
        out: outDir,
        processed: results.length - failed,
        failed,
        images: results,
      }) + '\n',
    );
  }
  return failed > 0 ? 1 : 0;
}

/** A problem with one input image: reported and skipped. */
class ImageError extends Error {}

async function inferOne(
  session: CrackSession,
  image: string,
  name: string,
  outDir: string,
  opts: { threshold: number; mmPerPx?: number; identity: Omit<AnalyzeOptions, 'threshold'> },
): Promise<InferImageResult> {
  const t0 = performance.now();
  // ---- decode: EXIF orientation applied, alpha dropped, sRGB 8-bit RGB ------------------------
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
    if ((err as NodeJS.ErrnoException).code === 'EACCES') throw new ImageError('permission denied');
    throw new ImageError(decodeError(err));
  }
  if (width < 8 || height < 8) throw new ImageError(`image is too small (${width}x${height}); at least 8x8 is needed`);
  const raw = (w: number, h: number, channels: 1 | 3) => ({ raw: { width: w, height: h, channels } });

  // ---- model input -------------------------------------------------------------------------
  const g = modelGeometry(width, height);
  let input: Uint8Array;
  if (g.scaledWidth === g.inputWidth && g.scaledHeight === g.inputHeight && g.scaledWidth === width) {
    input = rgb;
  } else {
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
    input = await pipe.raw().toBuffer();
  }
  const tDecoded = performance.now();

  // ---- inference; crop the pad off ---------------------------------------------------------
  const out = await session.run(input, g.inputHeight, g.inputWidth);
  let mask = new Uint8Array(g.scaledWidth * g.scaledHeight);
  for (let y = 0; y < g.scaledHeight; y++) mask.set(out.subarray(y * g.inputWidth, y * g.inputWidth + g.scaledWidth), y * g.scaledWidth);
  const tInfer = performance.now();

  // ---- back to the image's size (capped) ----------------------------------------------------
  const a = modelGeometry(width, height, MAX_ANALYSIS_SIDE);
  const aw = a.scaledWidth,
    ah = a.scaledHeight;
  if (aw !== g.scaledWidth || ah !== g.scaledHeight) {
    mask = new Uint8Array(
      await sharp(mask, raw(g.scaledWidth, g.scaledHeight, 1))
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
  const scale = width / aw; // image px per analysed px (1 unless the image was larger than 4096 px)
  const mmPerPx = opts.mmPerPx !== undefined ? opts.mmPerPx * scale : undefined;
  const report = analyzeMask(mask, aw, ah, { ...opts.identity, threshold: opts.threshold, mmPerPx });
  const tAnalyze = performance.now();

  // ---- outputs ----------------------------------------------------------------------------
  const cut = opts.threshold * 255;
  const overlay = Buffer.from(picture);
  for (let i = 0, j = 0; i < mask.length; i++, j += 3) {
    if (mask[i] >= cut) {
      overlay[j] = Math.round(overlay[j] * (1 - CRACK_ALPHA) + CRACK_RGB[0] * CRACK_ALPHA);
      overlay[j + 1] = Math.round(overlay[j + 1] * (1 - CRACK_ALPHA) + CRACK_RGB[1] * CRACK_ALPHA);
      overlay[j + 2] = Math.round(overlay[j + 2] * (1 - CRACK_ALPHA) + CRACK_RGB[2] * CRACK_ALPHA);
    }
  }
  // bridged gaps (inferred, counted in their crack's length) in cyan, so a reader sees what was not seen
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

const round1 = (v: number) => Math.round(v * 10) / 10;
