// A survey's outputs, in the order a progress bar counts them (7 steps): the full-size images
// (image-outputs.ts), the crack map as GeoJSON and SVG, the HTML report, the PDF and survey.json.
import fs from 'node:fs';
import path from 'node:path';
import type { CrackSession } from '../inference/session.js';
import type { ReportLanguage } from '../i18n/report-language.js';
import { classTotals, toGeoJson, toSvg, type CrackMapInput } from './crack-map.js';
import type { DecodedImage } from './decode.js';
import { writeImageOutputs } from './image-outputs.js';
import type { InferredMask } from './infer-tiles.js';
import type { CrackIdentity, MeasuredCracks } from './measure-cracks.js';
import { printPdf, reportHtml } from './report.js';
import { surveySummary, type SurveySummary } from './summary.js';
import type { WidthClass } from './width-classes.js';

export const OUTPUT_STEPS = 7;

export interface OutputsInput {
  input: string;
  /** the survey's folder and its scratch folder */
  outDir: string;
  tmpDir: string;
  image: DecodedImage;
  inferred: InferredMask;
  measured: MeasuredCracks;
  identity: CrackIdentity;
  session: CrackSession;
  threshold: number;
  mmPerPx: number | null;
  calibrationSource?: string;
  classes: WidthClass[];
  core: number;
  margin: number;
  chromium: string | null;
  language?: ReportLanguage;
  /** performance.now() when the survey began: the summary's total time */
  startedAt: number;
  /** called after each of OUTPUT_STEPS steps (checks for an abort too) */
  stepDone: () => void;
}

export interface Outputs {
  summary: SurveySummary;
  /** why there is no PDF; undefined when there is one */
  pdfError?: string;
  seconds: number;
}

export async function writeOutputs(o: OutputsInput): Promise<Outputs> {
  const { image, measured, session, outDir, stepDone } = o;
  const { width: W, height: H } = image;
  const { cracks, branches, bridges } = measured;
  const map: CrackMapInput = { width: W, height: H, mmPerPx: o.mmPerPx, classes: o.classes, cracks, branches, bridges };
  const totals = classTotals(map);
  const { overlayName, overview } = await writeImageOutputs({
    image: image.file,
    width: W,
    height: H,
    bandFiles: o.inferred.bandFiles,
    threshold: o.threshold,
    outDir,
    tmpDir: o.tmpDir,
    stepDone,
  });

  const m = session.manifest;
  const createdAt = new Date().toISOString();
  const calibration = o.mmPerPx === null ? null : { mmPerPx: o.mmPerPx, source: o.calibrationSource ?? '--mm-per-px' };
  const geo = toGeoJson(map, { input: path.basename(o.input), sha256: image.sha256, model: `${m.name} ${m.version}`, created: createdAt });
  fs.writeFileSync(path.join(outDir, 'crackmap.geojson'), JSON.stringify(geo) + '\n');
  fs.writeFileSync(path.join(outDir, 'crackmap.svg'), toSvg(map, { background: 'overview.jpg', minStrokePx: 1 }));
  stepDone();

  const seconds = (performance.now() - o.startedAt) / 1000;
  const summary = surveySummary({
    input: o.input,
    image,
    createdAt,
    session,
    threshold: o.threshold,
    calibration,
    grid: o.inferred.grid,
    core: o.core,
    margin: o.margin,
    seconds,
    inferSeconds: o.inferred.seconds,
    map,
    classTotals: totals,
    measured,
    identity: o.identity,
    overlayName,
  });
  const totalLength = cracks.reduce((s, c) => s + c.length_px, 0);
  const html = reportHtml(
    map,
    {
      title: o.language ? o.language.t('title', { file: path.basename(o.input) }) : `Crack survey: ${path.basename(o.input)}`,
      input: { file: path.basename(o.input), sha256: image.sha256, bytes: image.bytes, width: W, height: H },
      model: { name: m.name, version: m.version, provider: session.provider, providerLabel: session.providerLabel },
      threshold: o.threshold,
      calibration,
      createdAt,
      seconds,
      tiles: { count: o.inferred.grid.tiles.length, core: o.core, margin: o.margin },
      totals: { cracks: cracks.length, length_px: totalLength, crack_pixels: measured.crackPixels },
      classTotals: totals,
      overviewJpeg: overview.data,
      overviewSize: { width: overview.info.width, height: overview.info.height },
    },
    o.language,
  );
  fs.writeFileSync(path.join(outDir, 'report.html'), html);
  stepDone();
  let pdfError: string | undefined;
  if (o.chromium) {
    try {
      await printPdf(html, path.join(outDir, 'report.pdf'), o.chromium);
    } catch (err) {
      pdfError = String((err as Error).message).split('\n')[0];
    }
  } else pdfError = 'not asked for (--no-pdf)';
  if (pdfError) summary.outputs.pdf = '';
  fs.writeFileSync(path.join(outDir, 'survey.json'), JSON.stringify({ ...summary, pdf_error: pdfError ?? null }, null, 2) + '\n');
  stepDone();
  return { summary, pdfError, seconds };
}
