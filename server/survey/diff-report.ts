// survey-diff's outputs: a GeoJSON of the changes, an SVG map (A's cracks grey, changes coloured
// over A's overview) and a self-contained HTML report.
import type { Alignment } from './align.js';
import type { DiffResult, MapBranch } from './diff.js';

export const CHANGE_COLOURS = { new: '#e6194b', longer: '#f58231', wider: '#911eb4', joined: '#4363d8' } as const;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const pts = (l: [number, number][]) => l.map(([x, y]) => `${(x + 0.5).toFixed(1)},${(y + 0.5).toFixed(1)}`).join(' ');

export function diffGeoJson(d: DiffResult, mmPerPx: number | null, meta: Record<string, unknown>) {
  const mm = (v: number | undefined) => (v === undefined || mmPerPx === null ? undefined : Math.round(v * mmPerPx * 1e4) / 1e4);
  return {
    type: 'FeatureCollection',
    crackscope: { ...meta, coordinates: "survey A's image pixels: x right, y down, origin at the top-left corner", mm_per_px: mmPerPx },
    features: d.changes.map((c, i) => ({
      type: 'Feature',
      id: i + 1,
      geometry:
        c.lines.length === 1
          ? { type: 'LineString', coordinates: c.lines[0].map(([x, y]) => [x + 0.5, y + 0.5]) }
          : { type: 'MultiLineString', coordinates: c.lines.map((l) => l.map(([x, y]) => [x + 0.5, y + 0.5])) },
      properties: {
        change: c.kind,
        crack_b: c.crack_b,
        branch_b: c.branch_b ?? null,
        crack_a: c.crack_a,
        length_px: c.length_px ?? null,
        length_mm: mm(c.length_px) ?? null,
        width_a_px: c.width_a_px ?? null,
        width_b_px: c.width_b_px ?? null,
        width_a_mm: mm(c.width_a_px) ?? null,
        width_b_mm: mm(c.width_b_px) ?? null,
      },
    })),
  };
}

export function diffSvg(width: number, height: number, a: MapBranch[], d: DiffResult, background?: string, minStroke = 1): string {
  const base = a.map((b) => `<polyline points="${pts(b.line)}" stroke-width="${Math.max(minStroke, b.mean_width_px).toFixed(1)}"/>`).join('\n');
  const layer = (kind: keyof typeof CHANGE_COLOURS) =>
    d.changes
      .filter((c) => c.kind === kind)
      .flatMap((c) => c.lines.map((l) => `<polyline data-crack-b="${c.crack_b}" points="${pts(l)}" stroke-width="${(minStroke * 2.5).toFixed(1)}"/>`))
      .join('\n');
  const bg = background ? `<image href="${esc(background)}" x="0" y="0" width="${width}" height="${height}" preserveAspectRatio="none" opacity="0.6"/>\n` : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" class="map">\n${bg}<g fill="none" stroke-linecap="round" stroke-linejoin="round">\n` +
    `<g inkscape:groupmode="layer" inkscape:label="survey A" stroke="#555">\n${base}\n</g>\n` +
    (Object.keys(CHANGE_COLOURS) as (keyof typeof CHANGE_COLOURS)[])
      .map((k) => `<g inkscape:groupmode="layer" inkscape:label="${k}" stroke="${CHANGE_COLOURS[k]}">\n${layer(k)}\n</g>`)
      .join('\n') +
    '\n</g>\n</svg>\n'
  );
}

export function diffHtml(o: {
  a: string;
  b: string;
  created: string;
  alignment: Alignment;
  result: DiffResult;
  mmPerPx: number | null;
  svg: string;
  tolerancePx: number;
}): string {
  const k = o.mmPerPx;
  const len = (px?: number) => (px === undefined ? '–' : `${px.toFixed(0)} px${k ? ` (${(px * k).toFixed(1)} mm)` : ''}`);
  const wid = (px?: number) => (px === undefined ? '–' : `${px.toFixed(1)} px${k ? ` (${(px * k).toFixed(2)} mm)` : ''}`);
  const al = o.alignment;
  const rows = o.result.changes
    .map(
      (c, i) =>
        `<tr><td>${i + 1}</td><td><span class="sw" style="background:${CHANGE_COLOURS[c.kind]}"></span>${c.kind}</td><td>${c.crack_b}${c.branch_b ? ` (${esc(c.branch_b)})` : ''}</td><td>${c.crack_a ?? '–'}</td><td>${c.kind === 'wider' ? '–' : len(c.length_px)}</td><td>${c.kind === 'wider' ? `${wid(c.width_a_px)} → ${wid(c.width_b_px)}` : '–'}</td></tr>`,
    )
    .join('\n');
  const count = (kind: string) => o.result.changes.filter((c) => c.kind === kind).length;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Crack changes: ${esc(o.a)} → ${esc(o.b)}</title>
<style>body{font:11pt/1.4 system-ui,"DejaVu Sans",sans-serif;margin:24px;color:#222} h1{font-size:18pt;margin:0 0 6px} h2{font-size:13pt;border-bottom:1px solid #ccc}
svg.map{width:100%;height:auto;max-height:170mm;border:1px solid #999;background:#eee;display:block} table{border-collapse:collapse;font-size:10pt} td,th{padding:2px 8px;border-bottom:1px solid #e4e4e4;text-align:left}
.sw{display:inline-block;width:10px;height:10px;margin-right:5px;border-radius:2px} .meta{font-size:10pt}</style></head><body>
<h1>Crack changes: ${esc(o.a)} → ${esc(o.b)}</h1>
<p class="meta">${esc(o.created)} · alignment by <b>${al.method === 'feature-matching' ? 'feature matching (ORB on the overviews, RANSAC similarity)' : 'user-given point pairs'}</b>: rotation ${al.rotation_deg.toFixed(3)}°, scale ${al.scale.toFixed(4)}, shift (${al.transform.tx.toFixed(1)}, ${al.transform.ty.toFixed(1)}) px, ${al.inliers} of ${al.matches} ${al.method === 'feature-matching' ? 'matches agree' : 'pairs'}, residual ${al.rms_px.toFixed(2)} px${al.refined ? `; refined on the crack maps: ${al.refined.pairs} points, residual ${al.refined.rms_px.toFixed(2)} px` : ''}. Tolerance ${o.tolerancePx} px.</p>
<p><b>${count('new')}</b> new, <b>${count('longer')}</b> longer, <b>${count('wider')}</b> wider${count('joined') ? ` (and ${count('joined')} gaps of A's map now closed: a crack that linked up, or a stretch A's detection missed)` : ''}; ${o.result.matched_cracks} cracks of B follow cracks of A; ${o.result.not_found_in_b.length} cracks of A not found in B${o.result.not_found_in_b.length ? ` (${o.result.not_found_in_b.join(', ')}; ${len(o.result.not_found_length_px)})` : ''}.</p>
<h2>Map (survey A's pixels; A's cracks grey)</h2>
${o.svg}
<h2>Changes</h2>
${o.result.changes.length ? `<table><thead><tr><th>#</th><th>change</th><th>crack in B</th><th>crack in A</th><th>length</th><th>mean width A → B</th></tr></thead><tbody>${rows}</tbody></table>` : '<p>No new, longer or wider cracks.</p>'}
</body></html>
`;
}
