// Crack width classes in millimetres, as conservators report them. A branch is classed by its
// mean width (its typical opening; one wide spot does not move a whole branch up a class); a
// crack by its length-weighted mean width. Totals per class add up branch lengths.

export interface WidthClass {
  name: string;
  /** upper bound in mm (exclusive); null for the last, open-ended class */
  maxMm: number | null;
  /** map colour */
  color: string;
}

const PALETTE = ['#2b83ba', '#1a9641', '#fdae61', '#f46d43', '#d7191c', '#7b3294', '#555555'];

export const DEFAULT_WIDTH_CLASSES = 'hairline:0.1,fine:0.3,medium:1,wide:3,open';

/** Parses "name:upperMm,name:upperMm,…,lastName" (bounds strictly increasing). */
export function parseWidthClasses(spec: string): WidthClass[] {
  const parts = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length < 1 || parts.length > PALETTE.length)
    throw new Error(`width classes: give 1 to ${PALETTE.length} classes as name:upper-mm,…,last-name (e.g. ${DEFAULT_WIDTH_CLASSES})`);
  let prev = 0;
  return parts.map((p, i) => {
    const last = i === parts.length - 1;
    const m = /^([A-Za-z][\w -]{0,23})(?::([0-9.]+))?$/.exec(p);
    if (!m) throw new Error(`width classes: ${JSON.stringify(p)} is not name:upper-mm`);
    if (last !== (m[2] === undefined)) throw new Error(`width classes: every class but the last needs an upper bound in mm (${JSON.stringify(p)})`);
    let maxMm: number | null = null;
    if (!last) {
      maxMm = Number(m[2]);
      if (!(maxMm > prev && Number.isFinite(maxMm))) throw new Error(`width classes: bounds must be increasing numbers > 0 (${JSON.stringify(p)})`);
      prev = maxMm;
    }
    return { name: m[1], maxMm, color: PALETTE[i] };
  });
}

export function classify(classes: WidthClass[], widthMm: number): WidthClass {
  return classes.find((c) => c.maxMm === null || widthMm < c.maxMm) ?? classes[classes.length - 1];
}

/** "0.1–0.3 mm" style label */
export function classRange(classes: WidthClass[], i: number): string {
  const lo = i === 0 ? null : classes[i - 1].maxMm;
  const hi = classes[i].maxMm;
  if (lo === null) return `< ${hi} mm`;
  if (hi === null) return `> ${lo} mm`;
  return `${lo}–${hi} mm`;
}
