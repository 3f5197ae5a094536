// survey.json: everything a survey found and how it was made, in one object (also the `summary`
// of runSurvey's result and what `survey --json` prints).
import path from 'node:path';
import type { CrackSession } from '../inference/session.js';
import { classify } from './width-classes.js';
import type { ClassTotal, CrackMapInput } from './crack-map.js';
import type { DecodedImage } from './decode.js';
import type { CrackIdentity, MeasuredCracks } from './measure-cracks.js';
import type { TileGrid } from './tiling.js';

export interface SummaryInput {
  input: string;
  image: DecodedImage;
  createdAt: string;
  session: CrackSession;
  threshold: number;
  calibration: { mmPerPx: number; source: string } | null;
  grid: TileGrid;
  core: number;
  margin: number;
  /** whole survey and tile inference, seconds */
  seconds: number;
  inferSeconds: number;
  map: CrackMapInput;
  classTotals: ClassTotal[];
  measured: MeasuredCracks;
  identity: CrackIdentity;
  overlayName: string;
}

const r2 = (v: number) => Math.round(v * 100) / 100;

export function surveySummary(s: SummaryInput) {
  const { image, map, measured, grid } = s;
  const { cracks, branches, bridges } = measured;
  const k = map.mmPerPx;
  const ident = s.identity.settings;
  const m = s.session.manifest;
  const mp = image.megapixels;
  const totalLength = cracks.reduce((sum, c) => sum + c.length_px, 0);
  const inferredLength = cracks.reduce((sum, c) => sum + c.inferred_length_px, 0);
  return {
    input: {
      file: path.resolve(s.input),
      sha256: image.sha256,
      bytes: image.bytes,
      width: image.width,
      height: image.height,
      format: image.format,
      pages: image.pages,
    },
    created: s.createdAt,
    model: { name: m.name, version: m.version },
    provider: s.session.provider,
    provider_label: s.session.providerLabel,
    threshold: s.threshold,
    calibration: s.calibration,
    tiling: {
      tiles: grid.tiles.length,
      rows: grid.rows,
      cols: grid.cols,
      core: s.core,
      margin: s.margin,
      seams: 'cropped: each pixel comes from the one tile whose core holds it',
    },
    timings_s: { total: r2(s.seconds), inference: r2(s.inferSeconds) },
    megapixels: r2(mp),
    infer_mp_per_s: r2(mp / s.inferSeconds),
    // this process's peak resident memory so far (model, libvips and JS together; Chromium for the PDF is another process)
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    width_classes: s.classTotals.length ? s.classTotals : null,
    totals: {
      cracks: cracks.length,
      branches: branches.length,
      bridges: bridges.length,
      length_px: r2(totalLength),
      inferred_length_px: r2(inferredLength),
      crack_pixels: measured.crackPixels,
      ...(k === null ? {} : { length_mm: r2(totalLength * k), inferred_length_mm: r2(inferredLength * k) }),
    },
    // the crack-identity settings (server/analysis/README.md), named as in analyzeMask's report
    identity: {
      continue_threshold: r2(s.threshold * s.identity.continueRatio),
      min_length_px: ident.minLengthPx,
      max_gap_px: ident.maxGapPx,
      max_gap_angle_deg: ident.maxGapAngleDeg,
      bridge_min_prob: ident.bridgeMinProb,
      gap_lateral_widths: ident.gapLateralWidths,
      ...(k === null ? {} : { min_length_mm: r2(ident.minLengthPx * k), max_gap_mm: r2(ident.maxGapPx * k) }),
    },
    outputs: {
      mask: 'mask.tif',
      overlay: s.overlayName,
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
            width_class: classify(map.classes, c.mean_width_px * k).name,
          }),
      branches: c.branches,
      endpoints: c.endpoints,
      bbox: c.bbox,
    })),
  };
}

export type SurveySummary = ReturnType<typeof surveySummary>;
