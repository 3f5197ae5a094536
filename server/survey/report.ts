// The survey report: one self-contained HTML page (overview picture, the crack map coloured by
// width class, totals, the table of cracks, model, calibration, date, input checksum) and a PDF
// of it printed by Chromium (Debian's /usr/bin/chromium through playwright-core).
import fs from 'node:fs';
import { toSvg, type ClassTotal, type CrackMapInput } from './crack-map.js';
import { classify } from './width-classes.js';

export interface ReportInfo {
  title: string;
  input: { file: string; sha256: string; bytes: number; width: number; height: number };
  model: { name: string; version: string; provider: string; providerLabel: string };
  threshold: number;
  calibration: { mmPerPx: number; source: string } | null;
  createdAt: string;
  seconds: number;
  tiles: { count: number; core: number; margin: number };
  totals: { cracks: number; length_px: number; crack_pixels: number };
  classTotals: ClassTotal[];
  /** overview JPEG (the whole image, scaled down) */
  overviewJpeg: Buffer;
  overviewSize: { width: number; height: number };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f = (v: number, d: number) => v.toFixed(d);

/** How many cracks the table lists (longest first); the rest are counted in the totals and listed in survey.json. */
export const REPORT_TABLE_ROWS = 500;

export function reportHtml(map: CrackMapInput, info: ReportInfo): string {
  const k = map.mmPerPx;
  const bg = `data:image/jpeg;base64,${info.overviewJpeg.toString('base64')}`;
  const stroke = Math.max(map.width, map.height) / 500;
  const svg = toSvg(map, { background: bg, minStrokePx: stroke, attrs: 'class="map" preserveAspectRatio="xMidYMid meet" role="img" aria-label="crack map"' })
    .replace(/ width="\d+" height="\d+" viewBox/, ' viewBox');
  const legend = k === null
    ? '<p class="note">Not calibrated: widths are in image pixels and no width classes are given. Use <code>--mm-per-px</code> or <code>--calibration</code>.</p>'
    : `<table class="totals"><thead><tr><th>class</th><th>width</th><th>branches</th><th>length (mm)</th><th>length (m)</th></tr></thead><tbody>${
      info.classTotals.map((t) => `<tr><td><span class="sw" style="background:${t.color}"></span>${esc(t.name)}</td><td>${esc(t.range)}</td><td>${t.branches}</td><td>${f(t.length_mm, 1)}</td><td>${f(t.length_mm / 1000, 3)}</td></tr>`).join('')
    }</tbody></table>`;
  const rows = map.cracks.slice(0, REPORT_TABLE_ROWS).map((c) => {
    const cls = k === null ? null : classify(map.classes, c.mean_width_px * k);
    const mm = (v: number, d: number) => (k === null ? '–' : f(v * k, d));
    return `<tr><td>${c.id}</td><td>${f(c.length_px, 1)}</td><td>${mm(c.length_px, 1)}</td><td>${f(c.mean_width_px, 1)}</td><td>${mm(c.mean_width_px, 2)}</td><td>${f(c.max_width_px, 1)}</td><td>${mm(c.max_width_px, 2)}</td><td>${cls ? `<span class="sw" style="background:${cls.color}"></span>${esc(cls.name)}` : '–'}</td><td>${c.branches}</td><td>${c.bbox.x}, ${c.bbox.y}, ${c.bbox.w}×${c.bbox.h}</td></tr>`;
  }).join('\n');
  const more = map.cracks.length > REPORT_TABLE_ROWS ? `<p class="note">${map.cracks.length - REPORT_TABLE_ROWS} shorter cracks are not listed here; they are in the totals, in survey.json and in crackmap.geojson.</p>` : '';
  const totalMm = k === null ? '' : ` = ${f((info.totals.length_px * k) / 1000, 3)} m`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)}</title>
<style>
  @page { size: A4; margin: 14mm; }
  body { font: 11pt/1.4 system-ui, "DejaVu Sans", sans-serif; color: #222; margin: 24px; }
  h1 { font-size: 18pt; margin: 0 0 4px; } h2 { font-size: 13pt; margin: 18px 0 6px; border-bottom: 1px solid #ccc; }
  .meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; font-size: 10pt; }
  .meta dt { color: #666; } .meta dd { margin: 0; word-break: break-all; }
  svg.map { width: 100%; height: auto; max-height: 170mm; border: 1px solid #999; background: #eee; display: block; }
  table { border-collapse: collapse; font-size: 9.5pt; } th, td { padding: 2px 8px; text-align: right; border-bottom: 1px solid #e4e4e4; }
  th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
  .sw { display: inline-block; width: 10px; height: 10px; margin-right: 5px; border-radius: 2px; vertical-align: -1px; }
  .note { color: #555; font-size: 10pt; } code { font-size: 9.5pt; }
  .cracks tr { break-inside: avoid; }
</style></head>
<body>
<h1>${esc(info.title)}</h1>
<dl class="meta">
  <dt>input</dt><dd>${esc(info.input.file)} (${info.input.width}×${info.input.height} px, ${f((info.input.width * info.input.height) / 1e6, 1)} MP, ${info.input.bytes} bytes)</dd>
  <dt>SHA-256</dt><dd><code>${info.input.sha256}</code></dd>
  <dt>date</dt><dd>${esc(info.createdAt)}</dd>
  <dt>model</dt><dd>${esc(info.model.name)} ${esc(info.model.version)} on ${esc(info.model.providerLabel)}, threshold ${info.threshold}</dd>
  <dt>calibration</dt><dd>${info.calibration ? `${info.calibration.mmPerPx} mm per image pixel (${esc(info.calibration.source)})` : 'none (pixels only)'}</dd>
  <dt>tiling</dt><dd>${info.tiles.count} tiles, core ${info.tiles.core} px, context ${info.tiles.margin} px each side (cropped, not blended); ${f(info.seconds, 1)} s</dd>
</dl>
<h2>Crack map</h2>
${svg}
<h2>Totals</h2>
<p>${info.totals.cracks} cracks, total length ${f(info.totals.length_px, 0)} px${totalMm}; ${info.totals.crack_pixels} crack pixels (${f((100 * info.totals.crack_pixels) / (info.input.width * info.input.height), 3)} % of the image).</p>
${legend}
<p class="note">Each branch (tip or junction to junction) is classed by its mean width; a crack in the table below by its length-weighted mean width. Widths are 2·d − 1 at the centre line (d: distance to the crack's edge in pixels), so widths under about 2 px are quantised by the pixel grid.</p>
<h2>Cracks</h2>
<table class="cracks"><thead><tr><th>#</th><th>length px</th><th>mm</th><th>mean width px</th><th>mm</th><th>max width px</th><th>mm</th><th>class</th><th>branches</th><th>box x, y, w×h (px)</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${more}
</body></html>
`;
}

export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Prints the HTML to PDF with Chromium. */
export async function printPdf(html: string, pdfFile: string, chromiumPath: string): Promise<void> {
  if (!fs.existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath}`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_FLAGS });
  try {
    const page = await browser.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    await page.pdf({ path: pdfFile, format: 'A4', printBackground: true, margin: { top: '14mm', bottom: '14mm', left: '14mm', right: '14mm' } });
  } finally {
    await browser.close();
  }
}
