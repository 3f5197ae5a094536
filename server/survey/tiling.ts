// The tile grid of a survey. The image is cut into cores (each output pixel belongs to exactly one
// core); the model sees each core with `margin` pixels of real context on every side (mirrored
// past the image's edge), and only the core of its output is kept. Cropping instead of blending
// makes a pixel's mask value the one a single pass over a window centred on it would give, as far
// as the model's context reaches: the margin is chosen wider than the context that still moves
// the output (measured in test/survey-seams.test.ts).
//
// Every tile's input origin is a multiple of 32 (core and margin are multiples of 32), so the
// U-Net's pooling grid lies the same way in every tile as in a single pass over the whole image.

export interface TileGridOptions {
  /** core side in pixels, a multiple of 32 */
  core: number;
  /** context on each side in pixels, a multiple of 32 */
  margin: number;
}

export interface Tile {
  index: number;
  row: number;
  col: number;
  /** the kept part, in image pixels (clipped to the image) */
  core: { x: number; y: number; w: number; h: number };
  /** what the model sees, in image pixels; may reach past the image (filled by mirroring) */
  input: { x: number; y: number; w: number; h: number };
}

export interface TileGrid {
  width: number;
  height: number;
  rows: number;
  cols: number;
  tiles: Tile[];
}

export function tileGrid(width: number, height: number, opts: TileGridOptions): TileGrid {
  const { core, margin } = opts;
  if (!(core >= 32 && core % 32 === 0)) throw new RangeError(`tile core must be a multiple of 32 (≥ 32), got ${core}`);
  if (!(margin >= 0 && margin % 32 === 0)) throw new RangeError(`tile margin must be a multiple of 32, got ${margin}`);
  const cols = Math.ceil(width / core),
    rows = Math.ceil(height / core);
  const tiles: Tile[] = [];
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      const x = col * core,
        y = row * core;
      const w = Math.min(core, width - x),
        h = Math.min(core, height - y);
      // the input covers the core plus the margin, rounded up to a multiple of 32 on the far side
      const iw = Math.ceil((w + 2 * margin) / 32) * 32,
        ih = Math.ceil((h + 2 * margin) / 32) * 32;
      tiles.push({ index: tiles.length, row, col, core: { x, y, w, h }, input: { x: x - margin, y: y - margin, w: iw, h: ih } });
    }
  }
  return { width, height, rows, cols, tiles };
}

/**
 * How to fetch a tile's input from the image: the part inside the image (`extract`) and the
 * padding on each side that mirroring must supply.
 */
export function tileFetch(tile: Tile, width: number, height: number) {
  const { x, y, w, h } = tile.input;
  const left = Math.max(0, x),
    top = Math.max(0, y);
  const right = Math.min(width, x + w),
    bottom = Math.min(height, y + h);
  return {
    extract: { left, top, width: right - left, height: bottom - top },
    pad: { left: left - x, top: top - y, right: x + w - right, bottom: y + h - bottom },
  };
}
