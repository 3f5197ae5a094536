// The campaign report: one self-contained HTML page (totals, width classes summed over the
// images, the per-image table with links to each survey's own report, failures with their reason,
// and for a re-run the comparison with its base campaign), printed to PDF by the survey report's
// Chromium path (server/survey/report.ts). Its words come from the catalogues' "report.campaign"
// section (`campaign report --lang`), its figures through Intl in that language.
import type { ClassTotal } from '../survey/crack-map.js';
import type { CampaignComparison } from './compare.js';
import type { CampaignStatus } from './status.js';
import { reportLanguage, type ReportLanguage } from '../i18n/report-language.js';

/** left-to-right runs (sizes, ranges, dates, paths) kept whole and in order inside a right-to-left report */
const ltr = (html: string) => `<bdi dir="ltr">${html}</bdi>`;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface ReportImage {
  name: string;
  image: string;
  state: string;
  megapixels: number;
  reason: string | null;
  survey: any | null;
}

/**
 * The campaign report in `L`'s language (`campaign report --lang`, the survey report's catalogues:
 * the "report.campaign" section), its figures in that language's number format; English by default.
 */
export function campaignReportHtml(
  status: CampaignStatus,
  images: ReportImage[],
  comparison: CampaignComparison | null,
  created: string,
  L: ReportLanguage = reportLanguage('en'),
): string {
  const t = (key: string, opts?: Record<string, unknown>) => L.t(`campaign.${key}`, opts);
  const f = (v: number, d = 0) => L.num(v, d);
  const state = (s: string) => t(`state_${s}`, { defaultValue: s });
  const classes = new Map<string, ClassTotal>();
  let cracks = 0,
    lengthPx = 0,
    lengthMm = 0,
    calibrated = 0;
  for (const im of images) {
    const s = im.survey;
    if (!s) continue;
    cracks += s.totals.cracks;
    lengthPx += s.totals.length_px;
    if (s.totals.length_mm !== undefined) {
      lengthMm += s.totals.length_mm;
      calibrated++;
    }
    for (const c of (s.width_classes ?? []) as ClassTotal[]) {
      const e = classes.get(c.name) ?? { ...c, branches: 0, length_px: 0, length_mm: 0 };
      e.branches += c.branches;
      e.length_px += c.length_px;
      e.length_mm += c.length_mm;
      classes.set(c.name, e);
    }
  }
  const c = status.counts;
  const classTable = classes.size
    ? `<table><thead><tr><th>${L.t('th_class')}</th><th>${L.t('th_width')}</th><th>${L.t('th_branches')}</th><th>${L.t('th_length_m')}</th></tr></thead><tbody>${[...classes.values()].map((k) => `<tr><td><span class="sw" style="background:${k.color}"></span>${esc(k.name)}</td><td>${ltr(esc(L.nums(k.range)))}</td><td>${f(k.branches)}</td><td>${f(k.length_mm / 1000, 3)}</td></tr>`).join('')}</tbody></table>`
    : `<p class="note">${t('not_calibrated')}</p>`;
  const rows = images
    .map((im) => {
      const s = im.survey;
      const link = s ? `<a href="${encodeURI(im.name)}/report.html">${esc(im.name)}</a>` : esc(im.name);
      const cls = (s?.width_classes ?? []) as ClassTotal[];
      return `<tr class="${esc(im.state)}"><td>${link}</td><td>${esc(state(im.state))}</td><td>${s ? ltr(`${f(s.input.width)}×${f(s.input.height)}`) : '–'}</td><td>${f(im.megapixels, 1)}</td><td>${s ? f(s.totals.cracks) : '–'}</td><td>${s ? f(s.totals.length_px) : '–'}</td><td>${s?.totals.length_mm !== undefined ? f(s.totals.length_mm / 1000, 3) : '–'}</td><td>${
        cls
          .filter((k) => k.length_mm > 0)
          .map((k) => `<span class="sw" style="background:${k.color}"></span>${esc(k.name)} ${f(k.length_mm / 1000, 2)}`)
          .join(' ') || '–'
      }</td><td>${s ? `${ltr(esc(s.provider_label ?? s.provider))}${L.dir === 'rtl' ? '، ' : ', '}${t('seconds', { s: f(s.timings_s.total, 1) })}` : esc(im.reason ?? '')}</td></tr>`;
    })
    .join('\n');
  const cmp = comparison
    ? `<h2>${t('h_compare', { base: esc(comparison.base), from: esc(comparison.model_base), to: esc(comparison.model_new) })}</h2>
<p>${t('compare', { n: f(comparison.images.length), before: f(comparison.totals.cracks_base), after: f(comparison.totals.cracks_new), added: f(comparison.totals.added), lost: f(comparison.totals.lost), changed: f(comparison.totals.changed), iou: f(comparison.totals.iou_pooled, 4), f1: f(comparison.totals.f1_pooled, 4) })}${comparison.missing.length ? t('compare_missing', { list: comparison.missing.map(esc).join(', ') }) : ''}</p>
<table><thead><tr><th>${t('th_image_short')}</th><th>${t('th_cracks_before')}</th><th>${t('th_after')}</th><th>${t('th_added')}</th><th>${t('th_lost')}</th><th>${t('th_changed')}</th><th>${t('th_length_before')}</th><th>${t('th_after')}</th><th>IoU</th><th>F1</th></tr></thead><tbody>
${comparison.images.map((r) => `<tr><td>${esc(r.name)}</td><td>${f(r.cracks_base)}</td><td>${f(r.cracks_new)}</td><td>${f(r.added)}</td><td>${f(r.lost)}</td><td>${f(r.changed)}</td><td>${f(r.length_base_px)}</td><td>${f(r.length_new_px)}</td><td>${f(r.iou, 4)}</td><td>${f(r.f1, 4)}</td></tr>`).join('\n')}
</tbody></table>`
    : '';
  const todo = c.active + c.waiting + c.retrying;
  const calib = calibrated ? t('calibrated', { m: f(lengthMm / 1000, 3), n: f(calibrated) }) : '';
  const workers = status.workers.length ? ` ${t('workers', { count: status.workers.length })}` : '';
  return `<!doctype html>
<html lang="${L.lang}" dir="${L.dir}"><head><meta charset="utf-8"><title>${t('title', { name: esc(status.campaign) })}</title>
<style>
  @page { size: A4 landscape; margin: 12mm; }
  body { font: 10.5pt/1.4 system-ui, "DejaVu Sans", sans-serif; color: #222; margin: 24px; }
  h1 { font-size: 18pt; margin: 0 0 4px; } h2 { font-size: 13pt; margin: 18px 0 6px; border-bottom: 1px solid #ccc; }
  table { border-collapse: collapse; font-size: 9pt; } th, td { padding: 2px 8px; text-align: end; border-bottom: 1px solid #e4e4e4; }
  th { background: #f3f3f3; } td:first-child, th:first-child { text-align: start; } td:last-child { text-align: start; }
  tr.failed td { color: #a00; } .sw { display: inline-block; width: 10px; height: 10px; margin-inline: 6px 3px; border-radius: 2px; }
  .note { color: #555; } tr { break-inside: avoid; } code { unicode-bidi: isolate; direction: ltr; }
</style></head>
<body>
<h1>${t('h1', { name: esc(status.campaign) })}</h1>
<p>${t('intro', { model: ltr(esc(status.model)), rerun: status.base ? t('rerun', { base: esc(status.base) }) : '', date: ltr(esc(created)), out: `<code>${esc(status.out)}/${esc(status.campaign)}/</code>` })}</p>
<h2>${L.t('h_totals')}</h2>
<p>${t('totals', { total: f(c.total), mp: f(status.megapixels.total, 1), done: f(c.done), failed: f(c.failed), todo: f(todo), cracks: f(cracks), length: f(lengthPx), calibrated: calib })}${workers}</p>
${classTable}
<h2>${t('h_images')}</h2>
<table><thead><tr><th>${t('th_image')}</th><th>${t('th_state')}</th><th>${t('th_size')}</th><th>${t('th_mp')}</th><th>${t('th_cracks')}</th><th>${t('th_length_px')}</th><th>${L.t('th_length_m')}</th><th>${t('th_classes')}</th><th>${t('th_provider')}</th></tr></thead><tbody>
${rows}
</tbody></table>
${status.failures.length ? `<h2>${t('h_failures')}</h2><ul>${status.failures.map((x) => `<li><b>${esc(x.name)}</b> (${ltr(esc(x.image))})${L.dir === 'rtl' ? '، ' : ', '}${t('failure', { count: x.attempts, reason: esc(x.reason) })}</li>`).join('')}</ul>` : ''}
${cmp}
</body></html>
`;
}
