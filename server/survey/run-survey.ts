// One survey: a large image in, one folder of outputs. Memory stays bounded whatever the image
// size: libvips streams the input once into an uncompressed tiled TIFF (random access to any
// tile), the model sees one tile at a time, the mask goes to disk band by band (a raw file for
// our own reads, mask-file.ts, and one small TIFF per band for libvips), measurement thins the
// mask block by block (crack-graph.ts), and every full-size output is made by libvips from
// files. The largest JS buffers are one band of the mask (width × core bytes) and one
// measurement band (width × about 2200 bytes, plus a 2200² block). Intermediates are TIFFs, not
// libvips' .v: libvips memory-maps a .v whole, and those pages count as resident memory.
//
// Atomic output: everything is written into a hidden sibling folder which is fsynced and renamed
// to its final name only when complete; an abort (Ctrl-C) or an error removes it.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { CrackSession } from '../inference/session.js';
import type { AnalyzeOptions } from '../analysis/crack-measure.js';
import type { ReportLanguage } from '../i18n/report-language.js';
import { decodeImage } from './decode.js';
import { inferTiles } from './infer-tiles.js';
import { measureCracks, resolveIdentity } from './measure-cracks.js';
import { OUTPUT_STEPS, writeOutputs } from './outputs.js';
import { publishFolder } from './publish.js';
import type { WidthClass } from './width-classes.js';

export { MAX_INPUT_PIXELS, SurveyInputError } from './decode.js';

export interface SurveyOptions {
  input: string;
  /** the folder that receives <name>/ */
  outDir: string;
  name: string;
  session: CrackSession;
  threshold: number;
  mmPerPx: number | null;
  calibrationSource?: string;
  classes: WidthClass[];
  core?: number;
  margin?: number;
  minLengthPx?: number;
  /** crack identity (identityOptions(config)); minLengthPx above overrides its minLengthPx */
  identity?: Omit<AnalyzeOptions, 'threshold'>;
  /** Chromium for the PDF; null = no PDF */
  chromium: string | null;
  /** the report's language (survey --lang): English by default */
  language?: ReportLanguage;
  signal?: AbortSignal;
  onProgress?: (p: SurveyProgress) => void;
}

export interface SurveyProgress {
  phase: 'decode' | 'tiles' | 'measure' | 'outputs';
  done: number;
  total: number;
  /** megapixels of the image */
  megapixels: number;
}

export interface SurveyResult {
  folder: string;
  width: number;
  height: number;
  tiles: number;
  crackCount: number;
  totalLengthPx: number;
  seconds: number;
  /** tile inference alone (decode of tiles included), megapixels per second of image */
  inferMpPerS: number;
  pdf: boolean;
  pdfError?: string;
  summary: Record<string, unknown>;
}

export async function runSurvey(opts: SurveyOptions): Promise<SurveyResult> {
  const t0 = performance.now();
  const core = opts.core ?? 640,
    margin = opts.margin ?? 96;
  const signal = opts.signal;
  const identity = resolveIdentity(opts.identity, opts.minLengthPx);
  sharp.cache(false);

  fs.mkdirSync(opts.outDir, { recursive: true });
  const finalDir = path.join(opts.outDir, opts.name);
  const work = fs.mkdtempSync(path.join(opts.outDir, `.${opts.name}.partial-`));
  const tmp = path.join(work, '.work');
  fs.mkdirSync(tmp);
  let published = false;
  try {
    const image = await decodeImage({
      input: opts.input,
      tmpDir: tmp,
      signal,
      onProgress: (done, megapixels) => opts.onProgress?.({ phase: 'decode', done, total: 1, megapixels }),
    });
    const { width: W, height: H, megapixels: mp } = image;
    const inferred = await inferTiles({
      image: image.file,
      width: W,
      height: H,
      tmpDir: tmp,
      session: opts.session,
      core,
      margin,
      signal,
      onTile: (done, total) => opts.onProgress?.({ phase: 'tiles', done, total, megapixels: mp }),
    });
    const measured = await measureCracks({
      maskFile: inferred.maskFile,
      width: W,
      height: H,
      threshold: opts.threshold,
      identity,
      signal,
      onBlock: (done, total) => opts.onProgress?.({ phase: 'measure', done, total, megapixels: mp }),
    });
    let step = 0;
    const { summary, pdfError, seconds } = await writeOutputs({
      input: opts.input,
      outDir: work,
      tmpDir: tmp,
      image,
      inferred,
      measured,
      identity,
      session: opts.session,
      threshold: opts.threshold,
      mmPerPx: opts.mmPerPx,
      calibrationSource: opts.calibrationSource,
      classes: opts.classes,
      core,
      margin,
      chromium: opts.chromium,
      language: opts.language,
      startedAt: t0,
      stepDone: () => {
        signal?.throwIfAborted();
        opts.onProgress?.({ phase: 'outputs', done: ++step, total: OUTPUT_STEPS, megapixels: mp });
      },
    });

    fs.rmSync(tmp, { recursive: true, force: true });
    signal?.throwIfAborted();
    publishFolder(work, finalDir, opts.outDir);
    published = true;
    return {
      folder: finalDir,
      width: W,
      height: H,
      tiles: inferred.grid.tiles.length,
      crackCount: measured.cracks.length,
      totalLengthPx: measured.cracks.reduce((s, c) => s + c.length_px, 0),
      seconds,
      inferMpPerS: mp / inferred.seconds,
      pdf: !pdfError,
      pdfError,
      summary,
    };
  } finally {
    if (!published) fs.rmSync(work, { recursive: true, force: true });
  }
}
