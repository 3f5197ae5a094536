// Crack measurement for images too large for one buffer: the survey's mask is thinned block by
// block, the skeleton kept as a sparse point set, and cracks traced as polylines over it.
//
// Why this equals thinning the whole mask: Zhang–Suen is a parallel local operator, so a pixel's
// fate after k passes depends only on pixels within about 2k of it, and the number of passes is
// about half the widest crack. Each block is thinned with `margin` pixels of the mask around it
// and only skeleton pixels inside the block are kept; for cracks narrower than the margin the
// result is the whole-image result (test/survey-graph.test.ts checks it against analyzeMask's
// skeleton on one buffer). Staircases and spurs, whose clean-up in crack-measure.ts is
// sequential and so would depend on the block order, are handled on the global point set here.
//
// Widths: the distance transform d of each skeleton pixel (server/analysis/skeleton.ts) gives a
// local width 2·d − 1, the convention of crack-measure.ts (exact for odd widths, w − 1 for even
// widths on axis-aligned cracks).
//
// Hysteresis: with `continueThreshold` below `threshold`, the mask is thinned at the lower one and
// each skeleton point records whether its mask component (within the block and its margin) holds a
// pixel at or above `threshold`; traceCracks keeps a skeleton piece when any of its points does, so
// a crack seeded in one block continues across the next (server/analysis/crack-graph.ts).
import { distanceTransform, neighbourOffsets, zhangSuen } from '../analysis/skeleton.js';
import type { SparseSkeleton } from '../analysis/crack-graph.js';

export { traceCracks, IDENTITY_DEFAULTS } from '../analysis/crack-graph.js';
export type { SparseSkeleton, CrackBranch, CrackBridge, SurveyCrack, TraceOptions, TraceResult, IdentitySettings } from '../analysis/crack-graph.js';

export interface SkeletonOptions {
  /** probability threshold 0..1: a crack must hold a pixel at or above it */
  threshold: number;
  /** hysteresis: the threshold (0..1, ≤ threshold) at which a crack continues; default = threshold */
  continueThreshold?: number;
  /** block side (default 2048) */
  block?: number;
  /** context around each block (default 64): must exceed the widest crack's half-width */
  margin?: number;
  signal?: AbortSignal;
  onBlock?: (done: number, total: number) => void;
}

/** Reads full-width rows [y, y + rows) of the mask. */
export type MaskRows = (y: number, rows: number) => Uint8Array | Promise<Uint8Array>;

/** Thins the mask block by block, reading one band of block rows (with its margins) at a time. */
export async function skeletonFromMask(readRows: MaskRows, width: number, height: number, opts: SkeletonOptions): Promise<SparseSkeleton> {
  const B = opts.block ?? 2048,
    M = opts.margin ?? 64;
  const cut = Math.ceil(opts.threshold * 255 - 1e-9);
  const low = Math.min(cut, Math.ceil((opts.continueThreshold ?? opts.threshold) * 255 - 1e-9));
  const hysteresis = low < cut;
  const keys: number[] = [];
  const dists: number[] = [];
  const seeds: number[] = [];
  let crackPixels = 0;
  const total = Math.ceil(width / B) * Math.ceil(height / B);
  let done = 0;
  for (let by = 0; by < height; by += B) {
    opts.signal?.throwIfAborted();
    const ch = Math.min(B, height - by);
    const y0 = Math.max(0, by - M),
      y1 = Math.min(height, by + ch + M),
      bh = y1 - y0;
    const rows = await readRows(y0, bh);
    for (let bx = 0; bx < width; bx += B) {
      opts.signal?.throwIfAborted();
      const cw = Math.min(B, width - bx);
      const x0 = Math.max(0, bx - M),
        x1 = Math.min(width, bx + cw + M),
        bw = x1 - x0;
      // threshold into a padded grid (1-cell background ring), as crack-measure.ts does
      const pw = bw + 2,
        ph = bh + 2;
      const bin = new Uint8Array(pw * ph);
      const fg: number[] = [];
      const hi: number[] = [];
      for (let y = 0; y < bh; y++) {
        const row = y * width + x0,
          prow = (y + 1) * pw + 1;
        const inCoreY = y + y0 >= by && y + y0 < by + ch;
        for (let x = 0; x < bw; x++) {
          const v = rows[row + x];
          if (v >= low) {
            bin[prow + x] = 1;
            fg.push(prow + x);
            if (v >= cut) {
              hi.push(prow + x);
              if (inCoreY && x + x0 >= bx && x + x0 < bx + cw) crackPixels++;
            }
          }
        }
      }
      if (fg.length > 0) {
        // hysteresis: the low-threshold components that hold a seed (flood fill from the seeds)
        let seeded: Uint8Array | null = null;
        if (hysteresis) {
          seeded = new Uint8Array(pw * ph);
          const nb = neighbourOffsets(pw);
          const st: number[] = [];
          for (const p of hi)
            if (!seeded[p]) {
              seeded[p] = 1;
              st.push(p);
              while (st.length) {
                const q = st.pop()!;
                for (let k = 0; k < 8; k++) {
                  const r = q + nb[k];
                  if (bin[r] && !seeded[r]) {
                    seeded[r] = 1;
                    st.push(r);
                  }
                }
              }
            }
        }
        // widths come from the mask at the crack threshold: a faint rim continues a crack, it
        // neither widens nor narrows it (analyzeMask does the same: a rim on one side shifts the
        // centre line, so a point's width distance is the largest within the rim's reach)
        let dist: Float32Array;
        let hb: Uint8Array | null = null,
          lowDist: Float32Array | null = null;
        if (hysteresis) {
          hb = new Uint8Array(pw * ph);
          for (const p of hi) hb[p] = 1;
          dist = distanceTransform(hb, pw, ph);
          lowDist = distanceTransform(bin, pw, ph);
        } else dist = distanceTransform(bin, pw, ph);
        const widthDist = (p: number) => {
          const reach = lowDist ? lowDist[p] - dist[p] : 0;
          if (reach < 1) return dist[p];
          const r = Math.floor(reach);
          let best = dist[p];
          for (let dy = -r; dy <= r; dy++)
            for (let dx = -r; dx <= r; dx++) {
              const q = p + dy * pw + dx;
              if (dx * dx + dy * dy <= reach * reach && hb![q] && dist[q] > best) best = dist[q];
            }
          return best;
        };
        const skel = zhangSuen(bin, pw, fg);
        for (const p of skel) {
          const py = ((p / pw) | 0) - 1 + y0,
            px = (p % pw) - 1 + x0;
          if (px >= bx && px < bx + cw && py >= by && py < by + ch) {
            keys.push(py * width + px);
            dists.push(widthDist(p));
            seeds.push(seeded ? seeded[p] : 1);
          }
        }
      }
      opts.onBlock?.(++done, total);
    }
  }
  const order = Uint32Array.from(keys.keys()).sort((a, b) => keys[a] - keys[b]);
  return {
    width,
    height,
    crackPixels,
    keys: Float64Array.from(order, (i) => keys[i]),
    dist: Float32Array.from(order, (i) => dists[i]),
    ...(hysteresis ? { seed: Uint8Array.from(order, (i) => seeds[i]) } : {}),
  };
}
