// The campaign report: one self-contained HTML page (totals, width classes summed over the
// images, the per-image table with links to each survey's own report, failures with their reason,
// and for a re-run the comparison with its base campaign), printed to PDF by the survey report's
// Chromium path (server/survey/report.ts).
import type { ClassTotal } from '../survey/crack-map.js';
import type { CampaignComparison } from './compare.js';
import type { CampaignStatus } from './status.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface ReportImage { name: string; image: string; state: string; megapixels: number; reason: string | null; survey: any | null }

export function campaignReportHtml(status: CampaignStatus, images: ReportImage[], comparison: CampaignComparison | null, created: string): string {
  const classes = new Map<string, ClassTotal>();
  let cracks = 0, lengthPx = 0, lengthMm = 0, calibrated = 0;
  for (const im of images) {
    const s = im.survey;
    if (!s) continue;
    cracks += s.totals.cracks;
    lengthPx += s.totals.length_px;
    if (s.totals.length_mm !== undefined) { lengthMm += s.totals.length_mm; calibrated++; }
    for (const t of (s.width_classes ?? []) as ClassTotal[]) {
      const e = classes.get(t.name) ?? { ...t, branches: 0, length_px: 0, length_mm: 0 };
      e.branches += t.branches; e.length_px += t.length_px; e.length_mm += t.length_mm;
      classes.set(t.name, e);
    }
  }
  const c = status.counts;
  const classTable = classes.size
    ? `<table><thead><tr><th>class</th><th>width</th><th>branches</th><th>length (m)</th></tr></thead><tbody>${[...classes.values()].map((t) => `<tr><td><span class="sw" style="background:${t.color}"></span>${esc(t.name)}</td><td>${esc(t.range)}</td><td>${t.branches}</td><td>${(t.length_mm / 1000).toFixed(3)}</td></tr>`).join('')}</tbody></table>`
    : '<p class="note">Not calibrated: no width classes (give <code>--mm-per-px</code> to <code>campaign add</code>).</p>';
  const rows = images.map((im) => {
    const s = im.survey;
    const link = s ? `<a href="${encodeURI(im.name)}/report.html">${esc(im.name)}</a>` : esc(im.name);
    const cls = (s?.width_classes ?? []) as ClassTotal[];
    return `<tr class="${im.state}"><td>${link}</td><td>${esc(im.state)}</td><td>${s ? `${s.input.width}×${s.input.height}` : '–'}</td><td>${im.megapixels.toFixed(1)}</td><td>${s ? s.totals.cracks : '–'}</td><td>${s ? s.totals.length_px.toFixed(0) : '–'}</td><td>${s?.totals.length_mm !== undefined ? (s.totals.length_mm / 1000).toFixed(3) : '–'}</td><td>${cls.filter((t) => t.length_mm > 0).map((t) => `<span class="sw" style="background:${t.color}"></span>${esc(t.name)} ${(t.length_mm / 1000).toFixed(2)}`).join(' ') || '–'}</td><td>${s ? `${esc(s.provider_label ?? s.provider)}, ${s.timings_s.total.toFixed(1)} s` : esc(im.reason ?? '')}</td></tr>`;
  }).join('\n');
  const cmp = comparison ? `<h2>Compared with ${esc(comparison.base)} (${esc(comparison.model_base)} → ${esc(comparison.model_new)})</h2>
<p>${comparison.images.length} images in both: ${comparison.totals.cracks_base} → ${comparison.totals.cracks_new} cracks; <b>${comparison.totals.added} added</b>, <b>${comparison.totals.lost} lost</b>, <b>${comparison.totals.changed} changed</b> (longer at a tip or wider); mask agreement IoU ${comparison.totals.iou_pooled.toFixed(4)}, F1 ${comparison.totals.f1_pooled.toFixed(4)} (pooled).${comparison.missing.length ? ` Not in both yet: ${comparison.missing.map(esc).join(', ')}.` : ''}</p>
<table><thead><tr><th>image</th><th>cracks before</th><th>after</th><th>added</th><th>lost</th><th>changed</th><th>length before (px)</th><th>after</th><th>IoU</th><th>F1</th></tr></thead><tbody>
${comparison.images.map((r) => `<tr><td>${esc(r.name)}</td><td>${r.cracks_base}</td><td>${r.cracks_new}</td><td>${r.added}</td><td>${r.lost}</td><td>${r.changed}</td><td>${r.length_base_px.toFixed(0)}</td><td>${r.length_new_px.toFixed(0)}</td><td>${r.iou.toFixed(4)}</td><td>${r.f1.toFixed(4)}</td></tr>`).join('\n')}
</tbody></table>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Campaign ${esc(status.campaign)}</title>
<style>
  @page { size: A4 landscape; margin: 12mm; }
  body { font: 10.5pt/1.4 system-ui, "DejaVu Sans", sans-serif; color: #222; margin: 24px; }
  h1 { font-size: 18pt; margin: 0 0 4px; } h2 { font-size: 13pt; margin: 18px 0 6px; border-bottom: 1px solid #ccc; }
  table { border-collapse: collapse; font-size: 9pt; } th, td { padding: 2px 8px; text-align: right; border-bottom: 1px solid #e4e4e4; }
  th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; } td:last-child { text-align: left; }
  tr.failed td { color: #a00; } .sw { display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 6px; border-radius: 2px; }
  .note { color: #555; } tr { break-inside: avoid; }
</style></head>
<body>
<h1>Survey campaign ${esc(status.campaign)}</h1>
<p>Model ${esc(status.model)}${status.base ? `, a re-run of campaign ${esc(status.base)}` : ''}. Report made ${esc(created)}. Output folder <code>${esc(status.out)}/${esc(status.campaign)}/</code>.</p>
<h2>Totals</h2>
<p>${c.total} images (${status.megapixels.total.toFixed(1)} MP): ${c.done} surveyed, ${c.failed} failed, ${c.active + c.waiting + c.retrying} still to do. ${cracks} cracks, total length ${lengthPx.toFixed(0)} px${calibrated ? ` (${(lengthMm / 1000).toFixed(3)} m over the ${calibrated} calibrated images)` : ''}.${status.workers.length ? ` Surveyed by ${status.workers.length} worker${status.workers.length === 1 ? '' : 's'}.` : ''}</p>
${classTable}
<h2>Images</h2>
<table><thead><tr><th>image (link: its survey report)</th><th>state</th><th>size (px)</th><th>MP</th><th>cracks</th><th>length (px)</th><th>length (m)</th><th>width classes (m)</th><th>provider, time / reason</th></tr></thead><tbody>
${rows}
</tbody></table>
${status.failures.length ? `<h2>Failures</h2><ul>${status.failures.map((f) => `<li><b>${esc(f.name)}</b> (${esc(f.image)}), after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}: ${esc(f.reason)}</li>`).join('')}</ul>` : ''}
${cmp}
</body></html>
`;
}

