// Comparing two surveys of the same surface (A = earlier, B = later) once B is aligned to A:
// which of B's cracks are new, which grew longer, which opened wider. Works on the crack maps
// (crackmap.geojson), at full resolution, in A's image pixels.
//
// B's lines are sampled every 2 px and each sample looks for A's nearest crack line within
// `tolerance` px. A B crack with (almost) no sample near A is new. A B crack that follows an A
// crack but has unmatched stretches (runs of at least `minGrowthPx`) grew by their length. A B
// branch whose matched samples lie along A branches that were narrower by at least
// `minWideningPx` (and 15 %) opened wider.
import { applySim, invertSim, SegmentIndex, type Similarity } from './align.js';

export interface MapBranch {
  id: string;
  crack: number;
  line: [number, number][];
  mean_width_px: number;
  max_width_px: number;
  length_px: number;
  /** a bridged gap (server/analysis/crack-graph.ts): part of its crack, no width of its own */
  inferred?: boolean;
}

export interface DiffOptions {
  /** the two images' sizes: only the part of the wall seen in both is compared */
  sizeA?: { width: number; height: number };
  sizeB?: { width: number; height: number };
  tolerancePx?: number;
  minGrowthPx?: number;
  minWideningPx?: number;
}

export interface CrackChange {
  /** new, longer (grown at a tip), wider; 'joined' = a stretch of B between two matched parts,
   *  i.e. a gap of A's map now closed: a crack that linked up, or a gap in A's detection (the
   *  model's, not the wall's), so it is listed but not counted as growth */
  kind: 'new' | 'longer' | 'wider' | 'joined';
  /** B's crack id (and branch for 'wider') */
  crack_b: number;
  branch_b?: string;
  /** A's crack it continues or widens (null for new) */
  crack_a: number | null;
  /** new: its length; longer: the added length */
  length_px?: number;
  width_a_px?: number;
  width_b_px?: number;
  /** the changed stretches, in A's pixels */
  lines: [number, number][][];
}

export interface DiffResult {
  changes: CrackChange[];
  /** A's cracks that no B crack follows (repaired, covered, or missed by the model) */
  not_found_in_b: number[];
  /** their total length in A's pixels */
  not_found_length_px: number;
  matched_cracks: number;
}

const STEP = 2;

function sample(line: [number, number][]): [number, number][] {
  const out: [number, number][] = [line[0]];
  for (let i = 1; i < line.length; i++) {
    const [x0, y0] = line[i - 1],
      [x1, y1] = line[i];
    const n = Math.max(1, Math.round(Math.hypot(x1 - x0, y1 - y0) / STEP));
    for (let k = 1; k <= n; k++) out.push([x0 + ((x1 - x0) * k) / n, y0 + ((y1 - y0) * k) / n]);
  }
  return out;
}

export function diffMaps(a: MapBranch[], b: MapBranch[], t: Similarity, opts: DiffOptions = {}): DiffResult {
  const tol = opts.tolerancePx ?? 6,
    minGrowth = opts.minGrowthPx ?? 30,
    minWiden = opts.minWideningPx ?? 1;
  const idx = new SegmentIndex();
  a.forEach((br, i) => idx.add(br.line, i));
  // the common frame: inside A's image and inside B's (mapped to A), less a border of FRAME px;
  // a stretch outside it was simply not photographed in one of the two visits
  const FRAME = tol + 4;
  const inv = invertSim(t);
  const inside = (p: [number, number]) => {
    if (opts.sizeA && (p[0] < FRAME || p[1] < FRAME || p[0] > opts.sizeA.width - FRAME || p[1] > opts.sizeA.height - FRAME)) return false;
    if (opts.sizeB) {
      const q = applySim(inv, p);
      if (q[0] < FRAME || q[1] < FRAME || q[0] > opts.sizeB.width - FRAME || q[1] > opts.sizeB.height - FRAME) return false;
    }
    return true;
  };
  type Sample = { p: [number, number]; hit: number };
  const byCrack = new Map<number, { branches: MapBranch[]; samples: Sample[]; perBranch: { br: MapBranch; own: Sample[] }[] }>();
  for (const br of b) {
    const pts = sample(br.line.map((p) => applySim(t, p)));
    const e = byCrack.get(br.crack) ?? { branches: [], samples: [], perBranch: [] };
    e.branches.push(br);
    // hit: A branch index, −1 = no A crack near, −2 = outside the common frame (neither)
    const own: Sample[] = pts.map((p) => {
      const n = inside(p) ? idx.nearest(p[0], p[1], tol) : null;
      return { p, hit: n ? n.owner : inside(p) ? -1 : -2 };
    });
    e.samples.push(...own);
    e.perBranch.push({ br, own });
    byCrack.set(br.crack, e);
  }
  const changes: CrackChange[] = [];
  const aSeen = new Set<number>();
  let matched = 0;
  for (const [crackB, e] of byCrack) {
    const hits = e.samples.filter((s) => s.hit >= 0);
    const seen = e.samples.filter((s) => s.hit !== -2);
    const length = e.branches.reduce((s, br) => s + br.length_px, 0);
    if (seen.length * STEP < minGrowth) continue; // outside what A photographed
    // new: nothing of it was there before. A crack that follows an A crack for at least
    // minGrowth px is that crack, grown (however much longer it is now), not a new one.
    if (hits.length < 0.2 * seen.length && hits.length * STEP < minGrowth) {
      changes.push({ kind: 'new', crack_b: crackB, crack_a: null, length_px: length, lines: e.branches.map((br) => br.line.map((p) => applySim(t, p))) });
      continue;
    }
    matched++;
    const votes = new Map<number, number>();
    for (const s of hits) {
      const c = a[s.hit].crack;
      votes.set(c, (votes.get(c) ?? 0) + 1);
      aSeen.add(c);
    }
    const crackA = [...votes.entries()].sort((x, y) => y[1] - x[1])[0][0];
    // unmatched runs, branch by branch (samples are in branch order). A run with matched samples
    // on both sides is a joined gap. A run that reaches a branch end is growth at a tip, unless
    // the crack goes on, matched, past that end (another branch leaving the same junction starts
    // with matched samples): then it is a joined gap too.
    const perBranch = e.perBranch;
    const K = 8; // samples next to an end that count as "matched there"
    const continuesMatched = (self: MapBranch, end: [number, number]) =>
      perBranch.some(({ br, own }) => {
        if (br === self) return false;
        const first = br.line[0],
          last = br.line[br.line.length - 1];
        if (Math.hypot(first[0] - end[0], first[1] - end[1]) < 3) return own.slice(0, K).some((x) => x.hit >= 0);
        if (Math.hypot(last[0] - end[0], last[1] - end[1]) < 3) return own.slice(-K).some((x) => x.hit >= 0);
        return false;
      });
    const grown: [number, number][][] = [],
      joined: [number, number][][] = [];
    for (const { br, own } of perBranch) {
      let i = 0;
      while (i < own.length) {
        if (own[i].hit !== -1) {
          i++;
          continue;
        }
        let j = i;
        while (j < own.length && own[j].hit === -1) j++;
        const run = own.slice(i, j).map((x) => x.p);
        if (run.length * STEP >= minGrowth) {
          const atStart = i === 0,
            atEnd = j === own.length;
          const tip = (atStart && !continuesMatched(br, br.line[0])) || (atEnd && !continuesMatched(br, br.line[br.line.length - 1]));
          ((atStart || atEnd) && tip ? grown : joined).push(run);
        }
        i = j;
      }
    }
    const runLength = (rs: [number, number][][]) => rs.reduce((s, r) => s + (r.length - 1) * STEP, 0);
    if (grown.length) changes.push({ kind: 'longer', crack_b: crackB, crack_a: crackA, length_px: runLength(grown), lines: grown });
    if (joined.length) changes.push({ kind: 'joined', crack_b: crackB, crack_a: crackA, length_px: runLength(joined), lines: joined });
    // widths: the crack's matched samples against the A branches they fall on (length-weighted)
    let wa = 0,
      wb = 0,
      nw = 0;
    const widened: [number, number][][] = [];
    for (const { br, own: all } of perBranch) {
      if (br.inferred) continue;
      const own = all.filter((x) => x.hit >= 0 && !a[x.hit].inferred);
      for (const x of own) {
        wa += a[x.hit].mean_width_px;
        wb += br.mean_width_px;
        nw++;
      }
      const brA = own.length ? own.reduce((t, x) => t + a[x.hit].mean_width_px, 0) / own.length : 0;
      if (own.length * STEP >= minGrowth && br.mean_width_px - brA >= Math.max(minWiden, 0.15 * brA)) widened.push(br.line.map((p) => applySim(t, p)));
    }
    if (nw && widened.length && (wb - wa) / nw >= Math.max(minWiden, (0.15 * wa) / nw)) {
      changes.push({ kind: 'wider', crack_b: crackB, crack_a: crackA, width_a_px: wa / nw, width_b_px: wb / nw, lines: widened });
    }
  }
  // A's cracks with no B crack near them, counting only their part inside the common frame
  const idxB = new SegmentIndex();
  b.forEach((br, i) =>
    idxB.add(
      br.line.map((p) => applySim(t, p)),
      i,
    ),
  );
  const inFrame = new Map<number, { n: number; near: number }>();
  for (const br of a) {
    const e = inFrame.get(br.crack) ?? { n: 0, near: 0 };
    for (const p of sample(br.line))
      if (inside(p)) {
        e.n++;
        if (idxB.nearest(p[0], p[1], tol)) e.near++;
      }
    inFrame.set(br.crack, e);
  }
  const notFound = [...inFrame.entries()].filter(([c, e]) => !aSeen.has(c) && e.n * STEP >= minGrowth && e.near < 0.2 * e.n).map(([c]) => c);
  const notFoundLength = a.filter((br) => notFound.includes(br.crack)).reduce((s, br) => s + br.length_px, 0);
  return { changes, not_found_in_b: notFound, not_found_length_px: notFoundLength, matched_cracks: matched };
}
