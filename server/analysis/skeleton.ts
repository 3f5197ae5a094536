// Binary-image helpers for crack measurement: Euclidean distance transform and skeletonisation.
//
// All functions work on a *padded* grid: a row-major buffer of pw×ph cells whose outer ring of
// cells is always background. Neighbour offsets can then be taken without bounds checks.
// Foreground = 1, background = 0.

/** Neighbour offsets on a padded grid of width pw, in the order P2..P9 of Zhang & Suen:
 *  N, NE, E, SE, S, SW, W, NW. */
export function neighbourOffsets(pw: number): Int32Array {
  return Int32Array.from([-pw, -pw + 1, 1, pw + 1, pw, pw - 1, -1, -pw - 1]);
}

const INF = 1e20;

/**
 * Exact Euclidean distance transform (Felzenszwalb & Huttenlocher 2012): for every foreground cell,
 * the distance from its centre to the centre of the nearest background cell (so a foreground cell
 * touching the background has d = 1). Background cells get 0. O(cells).
 * Only rows/columns inside [x0,x1]×[y0,y1] are transformed; cells outside must be background
 * and the box must include a 1-cell background margin around all foreground.
 */
export function distanceTransform(
  bin: Uint8Array,
  pw: number,
  ph: number,
  box: { x0: number; y0: number; x1: number; y1: number } = { x0: 0, y0: 0, x1: pw - 1, y1: ph - 1 },
): Float32Array {
  const out = new Float32Array(pw * ph);
  const { x0, y0, x1, y1 } = box;
  const bw = x1 - x0 + 1,
    bh = y1 - y0 + 1;
  const n = Math.max(bw, bh);
  const f = new Float64Array(n),
    d = new Float64Array(n),
    z = new Float64Array(n + 1);
  const v = new Int32Array(n);
  const sq = new Float64Array(bw * bh); // squared distances inside the box
  // pass 1: columns (a column or row without foreground stays all zero)
  const rowHasFg = new Uint8Array(bh);
  for (let x = 0; x < bw; x++) {
    let any = false;
    for (let y = 0; y < bh; y++) {
      const fg = bin[(y + y0) * pw + x + x0];
      f[y] = fg ? INF : 0;
      if (fg) {
        any = true;
        rowHasFg[y] = 1;
      }
    }
    if (!any) continue;
    edt1d(f, bh, d, v, z);
    for (let y = 0; y < bh; y++) sq[y * bw + x] = d[y];
  }
  // pass 2: rows
  for (let y = 0; y < bh; y++) {
    if (!rowHasFg[y]) continue;
    const row = y * bw;
    for (let x = 0; x < bw; x++) f[x] = sq[row + x];
    edt1d(f, bw, d, v, z);
    const orow = (y + y0) * pw + x0;
    for (let x = 0; x < bw; x++) out[orow + x] = d[x] >= INF ? INF : Math.sqrt(d[x]);
  }
  return out;
}

function edt1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array) {
  let k = 0;
  v[0] = 0;
  z[0] = -INF;
  z[1] = INF;
  for (let q = 1; q < n; q++) {
    let s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    while (s <= z[k]) {
      k--;
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = INF;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const dq = q - v[k];
    d[q] = dq * dq + f[v[k]];
  }
}

/**
 * Zhang–Suen thinning (CACM 1984), in place on `img` (1 = foreground). Only border pixels are
 * examined: a work list starts with every foreground pixel that touches the background and grows
 * with the neighbours of deleted pixels, so the cost is about O(foreground), not O(cells × passes).
 * Returns the indices of the remaining (skeleton) pixels.
 */
export function zhangSuen(img: Uint8Array, pw: number, fg: Int32Array | number[]): number[] {
  const nb = neighbourOffsets(pw);
  const inList = new Uint8Array(img.length);
  let list: number[] = [];
  for (let i = 0; i < fg.length; i++) {
    const p = fg[i];
    for (let k = 0; k < 8; k++) {
      if (!img[p + nb[k]]) {
        list.push(p);
        inList[p] = 1;
        break;
      }
    }
  }
  const del: number[] = [];
  let quietSteps = 0;
  for (let step = 0; quietSteps < 2; step ^= 1) {
    del.length = 0;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      const p2 = img[p + nb[0]],
        p3 = img[p + nb[1]],
        p4 = img[p + nb[2]],
        p5 = img[p + nb[3]];
      const p6 = img[p + nb[4]],
        p7 = img[p + nb[5]],
        p8 = img[p + nb[6]],
        p9 = img[p + nb[7]];
      const b = p2 + p3 + p4 + p5 + p6 + p7 + p8 + p9;
      if (b < 2 || b > 6) continue;
      const a = +(!p2 && p3) + +(!p3 && p4) + +(!p4 && p5) + +(!p5 && p6) + +(!p6 && p7) + +(!p7 && p8) + +(!p8 && p9) + +(!p9 && p2);
      if (a !== 1) continue;
      if (step === 0) {
        if (p2 && p4 && p6) continue;
        if (p4 && p6 && p8) continue;
      } else {
        if (p2 && p4 && p8) continue;
        if (p2 && p6 && p8) continue;
      }
      del.push(p);
    }
    if (del.length === 0) {
      quietSteps++;
      continue;
    }
    quietSteps = 0;
    for (const p of del) img[p] = 0;
    const next: number[] = [];
    for (const p of list)
      if (img[p]) next.push(p);
      else inList[p] = 0;
    for (const p of del) {
      for (let k = 0; k < 8; k++) {
        const q = p + nb[k];
        if (img[q] && !inList[q]) {
          inList[q] = 1;
          next.push(q);
        }
      }
    }
    list = next;
  }
  return list;
}

/** Number of foreground 8-neighbours of p. */
export function countNeighbours(img: Uint8Array, p: number, nb: Int32Array): number {
  let c = 0;
  for (let k = 0; k < 8; k++) c += img[p + nb[k]] ? 1 : 0;
  return c;
}

/**
 * Removes redundant "staircase" pixels that Zhang–Suen leaves on diagonals: a skeleton pixel with
 * two foreground 4-neighbours at a right angle (N&E, E&S, S&W or W&N) whose removal is
 * topology-preserving (Yokoi's 8-connectivity number = 1) and that is not an end point. Sequential,
 * in place, so connectivity is kept. Returns the remaining skeleton pixels.
 */
export function removeStaircases(img: Uint8Array, pw: number, skel: number[]): number[] {
  const nb = neighbourOffsets(pw);
  for (const p of skel) {
    if (!img[p]) continue;
    const n = img[p + nb[0]] ? 1 : 0,
      ne = img[p + nb[1]] ? 1 : 0,
      e = img[p + nb[2]] ? 1 : 0,
      se = img[p + nb[3]] ? 1 : 0;
    const s = img[p + nb[4]] ? 1 : 0,
      sw = img[p + nb[5]] ? 1 : 0,
      w = img[p + nb[6]] ? 1 : 0,
      nw = img[p + nb[7]] ? 1 : 0;
    if (!((n && e) || (e && s) || (s && w) || (w && n))) continue;
    if (n + ne + e + se + s + sw + w + nw < 2) continue;
    // Yokoi connectivity number for 8-connectivity, on complements
    const cn = 1 - n,
      cne = 1 - ne,
      ce = 1 - e,
      cse = 1 - se,
      cs = 1 - s,
      csw = 1 - sw,
      cw = 1 - w,
      cnw = 1 - nw;
    const yokoi = ce - ce * cne * cn + (cn - cn * cnw * cw) + (cw - cw * csw * cs) + (cs - cs * cse * ce);
    if (yokoi === 1) img[p] = 0;
  }
  return skel.filter((p) => img[p]);
}

/**
 * Prunes short spurs: a branch from an end point to a junction (a pixel with ≥ 3 skeleton
 * neighbours) is removed when it is no longer than 1.5·d(junction) + 1 steps, d being the distance
 * transform. Such branches come from jagged mask edges, not from real crack branches: their tip lies
 * inside (or just outside) the largest disc that fits the crack at the junction. One round.
 */
export function pruneSpurs(img: Uint8Array, pw: number, skel: number[], dist: Float32Array, maxD: number): number[] {
  const nb = neighbourOffsets(pw);
  const cap = Math.ceil(1.5 * maxD + 2);
  const path: number[] = [];
  const onPath = new Uint8Array(img.length);
  const toDelete: number[] = [];
  for (const start of skel) {
    if (!img[start] || countNeighbours(img, start, nb) !== 1) continue;
    path.length = 0;
    let cur = start;
    let junction = -1;
    for (let steps = 0; steps <= cap; steps++) {
      path.push(cur);
      onPath[cur] = 1;
      if (countNeighbours(img, cur, nb) >= 3 && cur !== start) {
        path.pop();
        onPath[cur] = 0;
        junction = cur;
        break;
      }
      let next = -1;
      for (let k = 0; k < 8; k++) {
        const q = cur + nb[k];
        if (img[q] && !onPath[q]) {
          next = q;
          break;
        }
      }
      if (next < 0) break; // reached another end: an isolated segment, keep it
      cur = next;
    }
    if (junction >= 0 && path.length <= 1.5 * dist[junction] + 1) toDelete.push(...path);
    for (const p of path) onPath[p] = 0;
  }
  for (const p of toDelete) img[p] = 0;
  return toDelete.length ? skel.filter((p) => img[p]) : skel;
}

/**
 * The same distance as distanceTransform, for one pixel: from (x, y)'s centre to the nearest pixel
 * centre where `inside` is false (outside the image counts as background), searched ring by ring
 * and stopped once no nearer pixel can be left. For the centre-line pixels alone this costs about
 * (crack width)² reads each, far less than a transform of the whole frame for thin cracks; past
 * `maxR` it gives up and returns −1.
 */
export function localDistance(inside: (x: number, y: number) => boolean, x: number, y: number, maxR = Infinity): number {
  if (!inside(x, y)) return 0;
  let best = Infinity;
  for (let r = 1; r * r < best; r++) {
    if (r > maxR) return -1; // wider than the caller wants to search: it uses a transform instead
    for (let d = -r; d <= r; d++) {
      const d2 = r * r + d * d;
      if (d2 >= best) continue;
      if (!inside(x + d, y - r) || !inside(x + d, y + r) || !inside(x - r, y + d) || !inside(x + r, y + d)) best = d2;
    }
  }
  return Math.sqrt(best);
}
