// The crack map as vector data: GeoJSON (GIS, CAD importers) and SVG (Illustrator, Inkscape).
// Coordinates are image pixels: x to the right, y down, origin at the top-left corner of the
// top-left pixel (a pixel's centre is at +0.5). No CRS: a survey image has no geographic frame;
// with a calibration, mm = px × mm_per_px.
import type { CrackBranch, CrackBridge, SurveyCrack } from './crack-graph.js';
import { classify, classRange, type WidthClass } from './width-classes.js';

export interface CrackMapInput {
  width: number;
  height: number;
  mmPerPx: number | null;
  classes: WidthClass[];
  cracks: SurveyCrack[];
  branches: CrackBranch[];
  /** gaps bridged inside a crack: drawn dashed, `inferred: true` in the GeoJSON */
  bridges?: CrackBridge[];
}

const r2 = (v: number) => Math.round(v * 100) / 100;
const r4 = (v: number) => Math.round(v * 10000) / 10000;
/** skeleton pixel index → pixel-centre coordinate */
const centre = (v: number) => r2(v + 0.5);

export function branchClass(map: CrackMapInput, b: { mean_width_px: number }): WidthClass | null {
  return map.mmPerPx === null ? null : classify(map.classes, b.mean_width_px * map.mmPerPx);
}

export function toGeoJson(map: CrackMapInput, meta: Record<string, unknown> = {}) {
  const k = map.mmPerPx;
  return {
    type: 'FeatureCollection',
    crackscope: {
      ...meta,
      coordinates: 'image pixels: x right, y down, origin at the top-left corner of the image',
      image: { width: map.width, height: map.height },
      mm_per_px: k,
      width_classes: map.classes.map((c, i) => ({ name: c.name, range: classRange(map.classes, i), max_mm: c.maxMm, color: c.color })),
    },
    features: map.branches
      .map((b): { type: string; id: string; geometry: { type: string; coordinates: number[][] }; properties: Record<string, unknown> } => {
        const cls = branchClass(map, b);
        const coords = b.line.map(([x, y]) => [centre(x), centre(y)]);
        return {
          type: 'Feature',
          id: b.id,
          geometry: { type: 'LineString', coordinates: coords },
          properties: {
            id: b.id,
            crack: b.crack,
            closed: b.closed,
            length_px: r2(b.length_px),
            mean_width_px: r2(b.mean_width_px),
            max_width_px: r2(b.max_width_px),
            ...(k === null ? {} : { length_mm: r4(b.length_px * k), mean_width_mm: r4(b.mean_width_px * k), max_width_mm: r4(b.max_width_px * k) }),
            width_class: cls?.name ?? null,
          },
        };
      })
      .concat(
        (map.bridges ?? []).map((b, i) => ({
          type: 'Feature',
          id: `${b.crack}.bridge${i + 1}`,
          geometry: { type: 'LineString', coordinates: b.line.map(([x, y]) => [centre(x), centre(y)]) },
          // inferred: a faint stretch between two seen parts of one crack, counted in its length
          properties: {
            id: `${b.crack}.bridge${i + 1}`,
            crack: b.crack,
            closed: false,
            inferred: true,
            length_px: r2(b.length_px),
            mean_prob: b.mean_prob === null ? null : r2(b.mean_prob),
            ...(k === null ? {} : { length_mm: r4(b.length_px * k) }),
          } as Record<string, unknown>,
        })),
      ),
  };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface SvgOptions {
  /** an image under the lines (href: a file name or a data: URI) */
  background?: string;
  /** thinnest stroke in image pixels, so hairlines stay visible when the map is shown small */
  minStrokePx?: number;
  /** extra attributes on <svg> */
  attrs?: string;
}

/** One layer per width class (Inkscape layers; Illustrator reads them as groups); each line is drawn at its mean width. */
export function toSvg(map: CrackMapInput, opts: SvgOptions = {}): string {
  const minStroke = opts.minStrokePx ?? 1;
  const groups = new Map<string, string[]>();
  const uncal = { name: 'cracks', color: '#ff00ff' };
  for (const b of map.branches) {
    const cls = branchClass(map, b) ?? uncal;
    const pts = b.line.map(([x, y]) => `${centre(x)},${centre(y)}`).join(' ');
    const k = map.mmPerPx;
    const title =
      `crack ${b.id}: length ${b.length_px.toFixed(1)} px` +
      (k
        ? ` (${(b.length_px * k).toFixed(1)} mm), mean width ${(b.mean_width_px * k).toFixed(2)} mm, max ${(b.max_width_px * k).toFixed(2)} mm`
        : `, mean width ${b.mean_width_px.toFixed(1)} px, max ${b.max_width_px.toFixed(1)} px`);
    const line = `<polyline id="crack-${esc(b.id)}" data-crack="${b.crack}" points="${pts}" stroke-width="${r2(Math.max(minStroke, b.mean_width_px))}"><title>${esc(title)}</title></polyline>`;
    const l = groups.get(cls.name);
    if (l) l.push(line);
    else groups.set(cls.name, [line]);
  }
  const inferred = (map.bridges ?? []).map(
    (b, i) =>
      `<polyline id="crack-${b.crack}-bridge${i + 1}" data-crack="${b.crack}" points="${b.line.map(([x, y]) => `${centre(x)},${centre(y)}`).join(' ')}" stroke-width="${r2(Math.max(minStroke, 1))}"><title>crack ${b.crack}: bridged gap (inferred), ${b.length_px.toFixed(1)} px</title></polyline>`,
  );
  const layers =
    (map.mmPerPx === null ? [uncal] : map.classes)
      .map((c, i) => {
        const lines = groups.get(c.name);
        if (!lines) return '';
        const label = map.mmPerPx === null ? 'cracks (uncalibrated)' : `${c.name} (${classRange(map.classes, i)})`;
        return `<g id="class-${esc(c.name)}" inkscape:groupmode="layer" inkscape:label="${esc(label)}" stroke="${c.color}">\n${lines.join('\n')}\n</g>`;
      })
      .join('\n') +
    (inferred.length
      ? `\n<g id="inferred" inkscape:groupmode="layer" inkscape:label="bridged gaps (inferred)" stroke="#00c8ff" stroke-dasharray="4 3">\n${inferred.join('\n')}\n</g>`
      : '');
  const bg = opts.background
    ? `<g id="image" inkscape:groupmode="layer" inkscape:label="image" sodipodi:insensitive="true"><image href="${esc(opts.background)}" x="0" y="0" width="${map.width}" height="${map.height}" preserveAspectRatio="none"/></g>\n`
    : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd" width="${map.width}" height="${map.height}" viewBox="0 0 ${map.width} ${map.height}"${opts.attrs ? ' ' + opts.attrs : ''}>\n` +
    `${bg}<g fill="none" stroke-linecap="round" stroke-linejoin="round">\n${layers}\n</g>\n</svg>\n`
  );
}

export interface ClassTotal {
  name: string;
  range: string;
  color: string;
  branches: number;
  length_px: number;
  length_mm: number;
}

/** Length per width class, summed branch by branch; empty when uncalibrated. */
export function classTotals(map: CrackMapInput): ClassTotal[] {
  if (map.mmPerPx === null) return [];
  const k = map.mmPerPx;
  const totals = map.classes.map((c, i) => ({ name: c.name, range: classRange(map.classes, i), color: c.color, branches: 0, length_px: 0, length_mm: 0 }));
  for (const b of map.branches) {
    const i = map.classes.indexOf(branchClass(map, b)!);
    totals[i].branches++;
    totals[i].length_px += b.length_px;
  }
  for (const t of totals) {
    t.length_mm = r4(t.length_px * k);
    t.length_px = r2(t.length_px);
  }
  return totals;
}
