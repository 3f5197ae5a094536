// The survey report: one self-contained HTML page (overview picture, the crack map coloured by
// width class, totals, the table of cracks, model, calibration, date, input checksum) and a PDF
// of it printed by Chromium (Debian's /usr/bin/chromium through playwright-core).
import fs from 'node:fs';
import { toSvg, type ClassTotal, type CrackMapInput } from './crack-map.js';
import { classify } from './width-classes.js';
import { reportLanguage, type ReportLanguage } from '../i18n/report-language.js';

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

/** How many cracks the table lists (longest first); the rest are counted in the totals and listed in survey.json. */
export const REPORT_TABLE_ROWS = 500;

/** The report in `L`'s language (survey --lang; English by default, as before). */
export function reportHtml(map: CrackMapInput, info: ReportInfo, L: ReportLanguage = reportLanguage('en')): string {
  const f = (v: number, d: number) => L.num(v, d);
  const t = L.t;
  const k = map.mmPerPx;
  const bg = `data:image/jpeg;base64,${info.overviewJpeg.toString('base64')}`;
  const stroke = Math.max(map.width, map.height) / 500;
  const svg = toSvg(map, {
    background: bg,
    minStrokePx: stroke,
    attrs: `class="map" preserveAspectRatio="xMidYMid meet" role="img" aria-label="${esc(t('map_label'))}"`,
  }).replace(/ width="\d+" height="\d+" viewBox/, ' viewBox');
  const legend =
    k === null
      ? `<p class="note">${t('not_calibrated')}</p>`
      : `<table class="totals"><thead><tr><th>${t('th_class')}</th><th>${t('th_width')}</th><th>${t('th_branches')}</th><th>${t('th_length_mm')}</th><th>${t('th_length_m')}</th></tr></thead><tbody>${info.classTotals
          .map(
            (c) =>
              `<tr><td><span class="sw" style="background:${c.color}"></span>${esc(c.name)}</td><td><bdi dir="ltr">${esc(L.nums(c.range))}</bdi></td><td>${f(c.branches, 0)}</td><td>${f(c.length_mm, 1)}</td><td>${f(c.length_mm / 1000, 3)}</td></tr>`,
          )
          .join('')}</tbody></table>`;
  const rows = map.cracks
    .slice(0, REPORT_TABLE_ROWS)
    .map((c) => {
      const cls = k === null ? null : classify(map.classes, c.mean_width_px * k);
      const mm = (v: number, d: number) => (k === null ? '–' : f(v * k, d));
      return `<tr><td>${f(c.id, 0)}</td><td>${f(c.length_px, 1)}</td><td>${mm(c.length_px, 1)}</td><td>${f(c.mean_width_px, 1)}</td><td>${mm(c.mean_width_px, 2)}</td><td>${f(c.max_width_px, 1)}</td><td>${mm(c.max_width_px, 2)}</td><td>${cls ? `<span class="sw" style="background:${cls.color}"></span>${esc(cls.name)}` : '–'}</td><td>${f(c.branches, 0)}</td><td><bdi dir="ltr">${f(c.bbox.x, 0)}, ${f(c.bbox.y, 0)}, ${f(c.bbox.w, 0)}×${f(c.bbox.h, 0)}</bdi></td></tr>`;
    })
    .join('\n');
  const more = map.cracks.length > REPORT_TABLE_ROWS ? `<p class="note">${t('more', { n: f(map.cracks.length - REPORT_TABLE_ROWS, 0) })}</p>` : '';
  const totalMm = k === null ? '' : ` = ${f((info.totals.length_px * k) / 1000, 3)} m`;
  return `<!doctype html>
<html lang="${L.lang}" dir="${L.dir}"><head><meta charset="utf-8"><title>${esc(info.title)}</title>
<style>
  @page { size: A4; margin: 14mm; }
  body { font: 11pt/1.4 system-ui, "DejaVu Sans", sans-serif; color: #222; margin: 24px; }
  h1 { font-size: 18pt; margin: 0 0 4px; } h2 { font-size: 13pt; margin: 18px 0 6px; border-bottom: 1px solid #ccc; }
  .meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; font-size: 10pt; }
  .meta dt { color: #666; } .meta dd { margin: 0; word-break: break-all; }
  svg.map { width: 100%; height: auto; max-height: 170mm; border: 1px solid #999; background: #eee; display: block; }
  table { border-collapse: collapse; font-size: 9.5pt; } th, td { padding: 2px 8px; text-align: right; border-bottom: 1px solid #e4e4e4; }
  th { background: #f3f3f3; } td:first-child, th:first-child { text-align: start; }
  .sw { display: inline-block; width: 10px; height: 10px; margin-inline-end: 5px; border-radius: 2px; vertical-align: -1px; }
  .note { color: #555; font-size: 10pt; } code { font-size: 9.5pt; }
  .cracks tr { break-inside: avoid; }
</style></head>
<body>
<h1>${esc(info.title)}</h1>
<dl class="meta">
  <dt>${t('input')}</dt><dd>${t('input_value', { file: esc(info.input.file), w: f(info.input.width, 0), h: f(info.input.height, 0), mp: f((info.input.width * info.input.height) / 1e6, 1), bytes: f(info.input.bytes, 0) })}</dd>
  <dt>SHA-256</dt><dd><code>${info.input.sha256}</code></dd>
  <dt>${t('date')}</dt><dd>${esc(info.createdAt)}</dd>
  <dt>${t('model')}</dt><dd>${t('model_value', { name: esc(info.model.name), version: esc(info.model.version), provider: esc(info.model.providerLabel), threshold: String(info.threshold) })}</dd>
  <dt>${t('calibration')}</dt><dd>${info.calibration ? t('calibration_value', { k: String(info.calibration.mmPerPx), source: esc(info.calibration.source) }) : t('calibration_none')}</dd>
  <dt>${t('tiling')}</dt><dd>${t('tiling_value', { n: f(info.tiles.count, 0), core: f(info.tiles.core, 0), margin: f(info.tiles.margin, 0), seconds: f(info.seconds, 1) })}</dd>
</dl>
<h2>${t('h_map')}</h2>
${svg}
<h2>${t('h_totals')}</h2>
<p>${t('totals_value', { cracks: f(info.totals.cracks, 0), length: f(info.totals.length_px, 0), mm: totalMm, pixels: f(info.totals.crack_pixels, 0), share: f((100 * info.totals.crack_pixels) / (info.input.width * info.input.height), 3) })}</p>
${legend}
<p class="note">${t('note')}</p>
<h2>${t('h_cracks')}</h2>
<table class="cracks"><thead><tr><th>#</th><th>${t('th_length_px')}</th><th>${t('th_mm')}</th><th>${t('th_mean_width_px')}</th><th>${t('th_mm')}</th><th>${t('th_max_width_px')}</th><th>${t('th_mm')}</th><th>${t('th_class')}</th><th>${t('th_branches')}</th><th>${t('th_box')}</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${more}
</body></html>
`;
}

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

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
