// Synthetic survey images with known cracks: smooth polylines of known length and width, drawn by
// librsvg through sharp (rendered in strips, so a 100 MP image never sits in one JS buffer).
import sharp from 'sharp';

export interface TruthCrack {
  /** polyline in image pixels (corner origin) */
  points: [number, number][];
  /** stroke width in pixels */
  width: number;
  length: number;
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const polylineLength = (p: [number, number][]) => p.slice(1).reduce((s, q, i) => s + Math.hypot(q[0] - p[i][0], q[1] - p[i][1]), 0);

/**
 * `count` wavy cracks, one per horizontal band of the image (so no two touch), each running
 * across most of the band's width with slopes up to about 35°, widths from `widths`; `jag` > 0
 * makes them tortuous, as real cracks are (a crack model rightly ignores perfectly smooth
 * curves, which look drawn): direction noise of about jag × 0.1 rad per step, correlated over ~7 steps.
 */
export function wavyCracks(width: number, height: number, count: number, seed: number, widths = [3, 5, 7, 9], jag = 0): TruthCrack[] {
  const r = rng(seed);
  const band = height / count;
  const cracks: TruthCrack[] = [];
  for (let i = 0; i < count; i++) {
    const x0 = width * (0.04 + 0.1 * r()),
      x1 = width * (0.86 + 0.1 * r());
    const yc = band * (i + 0.5),
      amp = band * (0.18 + 0.12 * r());
    const wl = width * (0.2 + 0.25 * r()),
      phase = r() * Math.PI * 2;
    const pts: [number, number][] = [];
    const slope = (x: number) => ((amp * 2 * Math.PI) / wl) * Math.cos(phase + (2 * Math.PI * (x - x0)) / wl);
    if (jag > 0) {
      // tortuous like a real crack: 3-px steps whose direction follows the wave plus correlated noise
      let x = x0,
        y = yc + amp * Math.sin(phase),
        dev = 0;
      pts.push([x, y]);
      while (x < x1) {
        dev = 0.85 * dev + jag * 0.1 * (r() * 2 - 1);
        const off = y - (yc + amp * Math.sin(phase + (2 * Math.PI * (x - x0)) / wl));
        const a = Math.atan(slope(x)) + dev - Math.max(-0.5, Math.min(0.5, 0.01 * off)); // pulled back to the wave
        x += 3 * Math.cos(a);
        y += 3 * Math.sin(a);
        pts.push([x, y]);
      }
    } else {
      const steps = Math.ceil((x1 - x0) / 8);
      for (let k = 0; k <= steps; k++) {
        const x = x0 + ((x1 - x0) * k) / steps;
        pts.push([x, yc + amp * Math.sin(phase + (2 * Math.PI * (x - x0)) / wl)]);
      }
    }
    const w = widths[i % widths.length];
    cracks.push({ points: pts, width: w, length: polylineLength(pts) });
  }
  return cracks;
}

export function crackSvg(width: number, height: number, cracks: TruthCrack[], colour: string): string {
  const lines = cracks
    .map((c) => `<polyline points="${c.points.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join(' ')}" stroke-width="${c.width}"/>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g fill="none" stroke="${colour}" stroke-linecap="butt" stroke-linejoin="round">${lines}</g></svg>`;
}

/** Bright cracks on a dark ground, one grey band: for the tiny test model (mask = brightness). */
export async function writeBrightCrackImage(file: string, width: number, height: number, cracks: TruthCrack[], opts: { tiff?: 'tiled' | 'pyramid' } = {}) {
  let p = sharp({ create: { width, height, channels: 3, background: { r: 30, g: 30, b: 30 } } }).composite([
    { input: Buffer.from(crackSvg(width, height, cracks, '#f0f0f0')), limitInputPixels: false },
  ]);
  if (opts.tiff) p = p.tiff({ compression: 'deflate', tile: true, pyramid: opts.tiff === 'pyramid' });
  await p.toFile(file);
}

/** Dark cracks on a plaster-like ground (grain and soft blotches): for the real crack model. */
export async function writePlasterCrackImage(file: string, width: number, height: number, cracks: TruthCrack[], seed = 1) {
  const noise = await sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#000' /* sharp's types want one; unused with noise */,
      noise: { type: 'gaussian', mean: 200, sigma: 10 },
    },
  })
    .blur(1.2)
    .toColourspace('srgb')
    .png()
    .toBuffer();
  const r = rng(seed);
  const blotches = Array.from(
    { length: 12 },
    () =>
      `<circle cx="${(r() * width).toFixed(0)}" cy="${(r() * height).toFixed(0)}" r="${(width * (0.05 + 0.1 * r())).toFixed(0)}" fill="#8a7355" fill-opacity="0.12"/>`,
  ).join('');
  const blot = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><filter id="b"><feGaussianBlur stdDeviation="${(width / 60).toFixed(0)}"/></filter></defs><g filter="url(#b)">${blotches}</g></svg>`;
  await sharp(noise)
    .composite([{ input: Buffer.from(blot) }, { input: Buffer.from(crackSvg(width, height, cracks, '#2a231c')) }])
    .jpeg({ quality: 92 })
    .toFile(file);
}
