// The bridge from storage/HTTP to crack measurement (server/analysis/crack-measure.ts). Measurement
// itself lives there; this file only shapes its report for the captures API and the kiosk
// (JSON-safe numbers and a compact label map for tap hit-testing).
import { analyzeMask, reportToJson, type AnalyzeOptions, type CrackReport } from '../analysis/crack-measure.js';

export type ReportJson = Omit<CrackReport, 'labels'>;

export interface AnalysisJson {
  width: number;
  height: number;
  threshold: number;
  mmPerPx: number | null;
  report: ReportJson;
  /** crack id per mask pixel (0 = none), row-major, Uint16 little-endian, base64 */
  labels: string;
}

/** `identity`: the crack-identity settings of the config (identityOptions(config)); defaults without. */
export function analyze(
  mask: Uint8Array,
  width: number,
  height: number,
  threshold: number,
  mmPerPx: number | null,
  identity: Omit<AnalyzeOptions, 'threshold'> = {},
): AnalysisJson {
  const rep = analyzeMask(mask, width, height, { ...identity, threshold, ...(mmPerPx ? { mmPerPx } : {}) });
  return { width, height, threshold, mmPerPx, report: reportToJson(rep), labels: encodeLabels(rep.labels, width * height) };
}

function encodeLabels(labels: Int32Array, n: number): string {
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(Math.max(labels[i] ?? 0, 0), 65535);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64');
}
