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
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { CrackSession } from '../inference/session.js';
import { IDENTITY_DEFAULTS, skeletonFromMask, traceCracks } from './crack-graph.js';
import { CONTINUE_RATIO, type AnalyzeOptions } from '../analysis/crack-measure.js';
import type { IdentitySettings } from '../analysis/crack-graph.js';
import { classTotals, toGeoJson, toSvg, type CrackMapInput } from './crack-map.js';
import { printPdf, reportHtml } from './report.js';
import type { ReportLanguage } from '../i18n/report-language.js';
import { tileFetch, tileGrid } from './tiling.js';
import { RawMaskFile } from './mask-file.js';
import { classify, type WidthClass } from './width-classes.js';

/** Inputs up to this many pixels are accepted (20000×20000 and a margin). */
export const MAX_INPUT_PIXELS = 1_000_000_000;
export const OVERVIEW_SIDE = 2048;

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

/** A problem with the input image: one line for the user. */
export class SurveyInputError extends Error {}

async function sha256(file: string, signal?: AbortSignal): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { signal })) h.update(chunk as Buffer);
  return h.digest('hex');
}

function fsyncDir(dir: string) {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncTree(dir: string) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) fsyncTree(p);
    else {
      const fd = fs.openSync(p, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
  }
  fsyncDir(dir);
}

export async function runSurvey(opts: SurveyOptions): Promise<SurveyResult> {
  const t0 = performance.now();
  const core = opts.core ?? 640,
    margin = opts.margin ?? 96;
  const signal = opts.signal;
  // crack identity: the config's settings (as analyzeMask takes them), --min-length-px over them
  const id = opts.identity ?? {};
  const continueRatio = id.continueRatio ?? CONTINUE_RATIO;
  const ident: IdentitySettings = {
    minLengthPx: opts.minLengthPx ?? id.minLengthPx ?? IDENTITY_DEFAULTS.minLengthPx,
    maxGapPx: id.maxGapPx ?? IDENTITY_DEFAULTS.maxGapPx,
    maxGapAngleDeg: id.maxGapAngleDeg ?? IDENTITY_DEFAULTS.maxGapAngleDeg,
    bridgeMinProb: id.bridgeMinProb ?? IDENTITY_DEFAULTS.bridgeMinProb,
    gapLateralWidths: id.gapLateralWidths ?? IDENTITY_DEFAULTS.gapLateralWidths,
  };
  sharp.cache(false);

  fs.mkdirSync(opts.outDir, { recursive: true });
  const finalDir = path.join(opts.outDir, opts.name);
  const work = fs.mkdtempSync(path.join(opts.outDir, `.${opts.name}.partial-`));
  const tmp = path.join(work, '.work');
  fs.mkdirSync(tmp);
  const keepFinal = { done: false };
  try {
    // ---- decode once into libvips' own format ------------------------------------------------
    let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
    try {
      meta = await sharp(opts.input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' }).metadata();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new SurveyInputError('no such file');
      if (code === 'EACCES') throw new SurveyInputError('permission denied');
      const msg = String((err as Error).message).split('\n')[0];
      throw new SurveyInputError(/unsupported image format/i.test(msg) ? 'not an image, or a format libvips cannot read' : `cannot read the image: ${msg}`);
    }
    if (!meta.width || !meta.height) throw new SurveyInputError('the image has no size');
    const imageV = path.join(tmp, 'image.tif');
    const mp0 = (meta.width * meta.height) / 1e6;
    opts.onProgress?.({ phase: 'decode', done: 0, total: 1, megapixels: mp0 });
    try {
      // page 0 of a pyramidal TIFF is the full resolution; EXIF orientation applied; 8-bit sRGB
      await sharp(opts.input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', sequentialRead: true })
        .autoOrient()
        .removeAlpha()
        .toColourspace('srgb')
        .tiff({ compression: 'none', tile: true, tileWidth: 256, tileHeight: 256, bigtiff: true })
        .toFile(imageV);
    } catch (err) {
      throw new SurveyInputError(`cannot decode the image: ${String((err as Error).message).split('\n')[0]}`);
    }
    signal?.throwIfAborted();
    const im = await sharp(imageV).metadata();
    const W = im.width!,
      H = im.height!;
    if (W < 32 || H < 32) throw new SurveyInputError(`the image is too small (${W}x${H}); at least 32x32 is needed`);
    if ((im.channels ?? 0) !== 3 || im.depth !== 'uchar') throw new SurveyInputError(`the image decoded to ${im.channels} ${im.depth} channels, not 8-bit RGB`);
    const mp = (W * H) / 1e6;
    const [checksum, bytes] = [await sha256(opts.input, signal), fs.statSync(opts.input).size];
    opts.onProgress?.({ phase: 'decode', done: 1, total: 1, megapixels: mp });

    // ---- tiles ---------------------------------------------------------------------------------
    const grid = tileGrid(W, H, { core, margin });
    const maskFile = new RawMaskFile(path.join(tmp, 'mask.raw'), W, H);
    const bandFiles: string[] = [];
    const fetchTile = (i: number) => {
      const t = grid.tiles[i];
      const { extract, pad } = tileFetch(t, W, H);
      let p = sharp(imageV).extract(extract);
      if (pad.left || pad.top || pad.right || pad.bottom) {
        const mirror = Math.max(pad.left, pad.right) < extract.width && Math.max(pad.top, pad.bottom) < extract.height;
        p = p.extend({ ...pad, extendWith: mirror ? 'mirror' : 'copy' });
      }
      const job = p.raw().toBuffer();
      job.catch(() => {}); // awaited below; an abort in between must not leave it unhandled
      return job;
    };
    const tInfer0 = performance.now();
    let next = fetchTile(0);
    let done = 0;
    try {
      for (let row = 0; row < grid.rows; row++) {
        const bandY = row * core,
          bandH = Math.min(core, H - bandY);
        const band = new Uint8Array(W * bandH);
        for (let col = 0; col < grid.cols; col++) {
          signal?.throwIfAborted();
          const t = grid.tiles[row * grid.cols + col];
          const rgb = await next;
          if (t.index + 1 < grid.tiles.length) next = fetchTile(t.index + 1);
          const out = await opts.session.run(rgb, t.input.h, t.input.w);
          const ox = t.core.x - t.input.x,
            oy = t.core.y - t.input.y;
          for (let r = 0; r < t.core.h; r++) {
            const src = (oy + r) * t.input.w + ox;
            band.set(out.subarray(src, src + t.core.w), r * W + t.core.x);
          }
          opts.onProgress?.({ phase: 'tiles', done: ++done, total: grid.tiles.length, megapixels: mp });
        }
        maskFile.writeRows(bandY, band);
        const bandFile = path.join(tmp, `mask-band-${String(row).padStart(4, '0')}.tif`);
        await sharp(band, { raw: { width: W, height: bandH, channels: 1 } })
          .toColourspace('b-w')
          .tiff({ compression: 'deflate', predictor: 'horizontal' })
          .toFile(bandFile);
        bandFiles.push(bandFile);
      }
    } catch (err) {
      maskFile.close();
      throw err;
    }
    const inferSeconds = (performance.now() - tInfer0) / 1000;

    // ---- measure ---------------------------------------------------------------------------------
    const skeleton = await skeletonFromMask((y, rows) => maskFile.readRows(y, rows), W, H, {
      threshold: opts.threshold,
      continueThreshold: opts.threshold * continueRatio,
      signal,
      onBlock: (d, total) => opts.onProgress?.({ phase: 'measure', done: d, total, megapixels: mp }),
    });
    // crack identity as in analyzeMask (server/analysis/crack-graph.ts): one skeleton for the whole
    // image, so a crack is one crack across tile and block borders; bridges sample the mask file
    let traced;
    try {
      traced = traceCracks(skeleton, { ...ident, probAt: (x, y) => maskFile.readAt(x, y) });
    } finally {
      maskFile.close();
    }
    const { cracks, branches, bridges } = traced;
    const map: CrackMapInput = { width: W, height: H, mmPerPx: opts.mmPerPx, classes: opts.classes, cracks, branches, bridges };
    const totals = classTotals(map);
    const totalLength = cracks.reduce((s, c) => s + c.length_px, 0);
    const inferredLength = cracks.reduce((s, c) => s + c.inferred_length_px, 0);

    // ---- outputs ---------------------------------------------------------------------------------
    const steps = 7;
    let step = 0;
    const stepDone = () => {
      signal?.throwIfAborted();
      opts.onProgress?.({ phase: 'outputs', done: ++step, total: steps, megapixels: mp });
    };
    const big = W * H > 2_000_000_000;
    // the bands joined top to bottom (join pads every cell to the tallest; the crop takes the pad off)
    const maskTif = path.join(work, 'mask.tif');
    await sharp(bandFiles, { join: { across: 1 } })
      .extract({ left: 0, top: 0, width: W, height: H })
      .extractChannel(0)
      .toColourspace('b-w')
      .tiff({ compression: 'deflate', predictor: 'horizontal', tile: true, tileWidth: 256, tileHeight: 256, bigtiff: big })
      .toFile(maskTif);
    for (const f of bandFiles) fs.rmSync(f);
    stepDone();
    const cut = Math.ceil(opts.threshold * 255 - 1e-9);
    // overlay = image over magenta with alpha 1 − 0.75·crack. (sharp's composite() would load the
    // overlay whole into memory; joinChannel + flatten stream. flatten runs before joinChannel in
    // one sharp pipeline, hence the two steps.)
    const alphaV = path.join(tmp, 'alpha.tif'),
      rgbaTif = path.join(tmp, 'rgba.tif');
    await sharp(maskTif).threshold(cut).linear(-0.75, 255).toColourspace('b-w').tiff({ compression: 'none', bigtiff: true }).toFile(alphaV);
    await sharp(imageV, { sequentialRead: true }).joinChannel(alphaV).toColourspace('srgb').tiff({ compression: 'none', bigtiff: true }).toFile(rgbaTif);
    fs.rmSync(alphaV);
    const overlayName = W > 65000 || H > 65000 ? 'overlay.tif' : 'overlay.jpg';
    const overlay = sharp(rgbaTif, { sequentialRead: true }).flatten({ background: '#ff00ff' });
    await (
      overlayName === 'overlay.jpg' ? overlay.jpeg({ quality: 88, optimiseCoding: false }) : overlay.tiff({ compression: 'jpeg', tile: true, bigtiff: big })
    ).toFile(path.join(work, overlayName));
    fs.rmSync(rgbaTif);
    stepDone();
    const ov = await sharp(imageV)
      .resize({ width: OVERVIEW_SIDE, height: OVERVIEW_SIDE, fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 85 })
      .toBuffer({ resolveWithObject: true });
    fs.writeFileSync(path.join(work, 'overview.jpg'), ov.data);
    stepDone();
    fs.mkdirSync(path.join(work, 'dzi'));
    await sharp(imageV)
      .jpeg({ quality: 85 })
      .tile({ size: 254, overlap: 1, layout: 'dz' })
      .toFile(path.join(work, 'dzi', 'image.dz'));
    stepDone();

    const m = opts.session.manifest;
    const createdAt = new Date().toISOString();
    const calibration = opts.mmPerPx === null ? null : { mmPerPx: opts.mmPerPx, source: opts.calibrationSource ?? '--mm-per-px' };
    const geo = toGeoJson(map, { input: path.basename(opts.input), sha256: checksum, model: `${m.name} ${m.version}`, created: createdAt });
    fs.writeFileSync(path.join(work, 'crackmap.geojson'), JSON.stringify(geo) + '\n');
    fs.writeFileSync(path.join(work, 'crackmap.svg'), toSvg(map, { background: 'overview.jpg', minStrokePx: 1 }));
    stepDone();

    const seconds = (performance.now() - t0) / 1000;
    const k = opts.mmPerPx;
    const r2 = (v: number) => Math.round(v * 100) / 100;
    const summary = {
      input: { file: path.resolve(opts.input), sha256: checksum, bytes, width: W, height: H, format: meta.format, pages: meta.pages ?? 1 },
      created: createdAt,
      model: { name: m.name, version: m.version },
      provider: opts.session.provider,
      provider_label: opts.session.providerLabel,
      threshold: opts.threshold,
      calibration,
      tiling: {
        tiles: grid.tiles.length,
        rows: grid.rows,
        cols: grid.cols,
        core,
        margin,
        seams: 'cropped: each pixel comes from the one tile whose core holds it',
      },
      timings_s: { total: r2(seconds), inference: r2(inferSeconds) },
      megapixels: r2(mp),
      infer_mp_per_s: r2(mp / inferSeconds),
      // this process's peak resident memory so far (model, libvips and JS together; Chromium for the PDF is another process)
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      width_classes: totals.length ? totals : null,
      totals: {
        cracks: cracks.length,
        branches: branches.length,
        bridges: bridges.length,
        length_px: r2(totalLength),
        inferred_length_px: r2(inferredLength),
        crack_pixels: skeleton.crackPixels,
        ...(k === null ? {} : { length_mm: r2(totalLength * k), inferred_length_mm: r2(inferredLength * k) }),
      },
      // the crack-identity settings (server/analysis/README.md), named as in analyzeMask's report
      identity: {
        continue_threshold: r2(opts.threshold * continueRatio),
        min_length_px: ident.minLengthPx,
        max_gap_px: ident.maxGapPx,
        max_gap_angle_deg: ident.maxGapAngleDeg,
        bridge_min_prob: ident.bridgeMinProb,
        gap_lateral_widths: ident.gapLateralWidths,
        ...(k === null ? {} : { min_length_mm: r2(ident.minLengthPx * k), max_gap_mm: r2(ident.maxGapPx * k) }),
      },
      outputs: {
        mask: 'mask.tif',
        overlay: overlayName,
        overview: 'overview.jpg',
        geojson: 'crackmap.geojson',
        svg: 'crackmap.svg',
        report: 'report.html',
        pdf: 'report.pdf',
        dzi: 'dzi/image.dzi',
      },
      cracks: cracks.map((c) => ({
        id: c.id,
        length_px: r2(c.length_px),
        inferred_length_px: r2(c.inferred_length_px),
        bridges: c.bridges,
        mean_width_px: r2(c.mean_width_px),
        max_width_px: r2(c.max_width_px),
        ...(k === null
          ? {}
          : {
              length_mm: r2(c.length_px * k),
              mean_width_mm: Math.round(c.mean_width_px * k * 1e4) / 1e4,
              max_width_mm: Math.round(c.max_width_px * k * 1e4) / 1e4,
              width_class: geoClass(map, c.mean_width_px),
            }),
        branches: c.branches,
        endpoints: c.endpoints,
        bbox: c.bbox,
      })),
    };
    const html = reportHtml(
      map,
      {
        title: opts.language ? opts.language.t('title', { file: path.basename(opts.input) }) : `Crack survey: ${path.basename(opts.input)}`,
        input: { file: path.basename(opts.input), sha256: checksum, bytes, width: W, height: H },
        model: { name: m.name, version: m.version, provider: opts.session.provider, providerLabel: opts.session.providerLabel },
        threshold: opts.threshold,
        calibration,
        createdAt,
        seconds,
        tiles: { count: grid.tiles.length, core, margin },
        totals: { cracks: cracks.length, length_px: totalLength, crack_pixels: skeleton.crackPixels },
        classTotals: totals,
        overviewJpeg: ov.data,
        overviewSize: { width: ov.info.width, height: ov.info.height },
      },
      opts.language,
    );
    fs.writeFileSync(path.join(work, 'report.html'), html);
    stepDone();
    let pdfError: string | undefined;
    if (opts.chromium) {
      try {
        await printPdf(html, path.join(work, 'report.pdf'), opts.chromium);
      } catch (err) {
        pdfError = String((err as Error).message).split('\n')[0];
      }
    } else pdfError = 'not asked for (--no-pdf)';
    if (pdfError) summary.outputs.pdf = '';
    fs.writeFileSync(path.join(work, 'survey.json'), JSON.stringify({ ...summary, pdf_error: pdfError ?? null }, null, 2) + '\n');
    stepDone();

    // ---- publish -------------------------------------------------------------------------------
    fs.rmSync(tmp, { recursive: true, force: true });
    signal?.throwIfAborted();
    fsyncTree(work);
    let old: string | null = null;
    if (fs.existsSync(finalDir)) {
      old = `${work}.old`;
      fs.renameSync(finalDir, old);
    }
    fs.renameSync(work, finalDir);
    keepFinal.done = true;
    fsyncDir(opts.outDir);
    if (old) fs.rmSync(old, { recursive: true, force: true });
    return {
      folder: finalDir,
      width: W,
      height: H,
      tiles: grid.tiles.length,
      crackCount: cracks.length,
      totalLengthPx: totalLength,
      seconds,
      inferMpPerS: mp / inferSeconds,
      pdf: !pdfError,
      pdfError,
      summary,
    };
  } finally {
    if (!keepFinal.done) fs.rmSync(work, { recursive: true, force: true });
  }
}

function geoClass(map: CrackMapInput, meanPx: number): string | null {
  return map.mmPerPx === null ? null : classify(map.classes, meanPx * map.mmPerPx).name;
}
