// A survey's second step: the model over the image one tile at a time, the mask written to disk
// one band of tiles at a time (a raw file for the measurement, mask-file.ts, and one small TIFF
// per band that libvips joins into mask.tif). The next tile is read while the model runs.
import path from 'node:path';
import sharp from 'sharp';
import type { CrackSession } from '../inference/session.js';
import { RawMaskFile } from './mask-file.js';
import { tileFetch, tileGrid, type TileGrid } from './tiling.js';

export interface InferTilesOptions {
  /** the decoded image (decode.ts) */
  image: string;
  width: number;
  height: number;
  /** receives mask.raw and the band TIFFs */
  tmpDir: string;
  session: CrackSession;
  core: number;
  margin: number;
  signal?: AbortSignal;
  onTile?: (done: number, total: number) => void;
}

export interface InferredMask {
  grid: TileGrid;
  /** open; the caller closes it after measuring */
  maskFile: RawMaskFile;
  /** one TIFF per row of tiles, top to bottom */
  bandFiles: string[];
  /** tile inference alone (decode of tiles included) */
  seconds: number;
}

export async function inferTiles(opts: InferTilesOptions): Promise<InferredMask> {
  const { image, width: W, height: H, core, signal } = opts;
  const grid = tileGrid(W, H, { core, margin: opts.margin });
  const maskFile = new RawMaskFile(path.join(opts.tmpDir, 'mask.raw'), W, H);
  const bandFiles: string[] = [];
  const fetchTile = (i: number) => {
    const t = grid.tiles[i];
    const { extract, pad } = tileFetch(t, W, H);
    let p = sharp(image).extract(extract);
    if (pad.left || pad.top || pad.right || pad.bottom) {
      const mirror = Math.max(pad.left, pad.right) < extract.width && Math.max(pad.top, pad.bottom) < extract.height;
      p = p.extend({ ...pad, extendWith: mirror ? 'mirror' : 'copy' });
    }
    const job = p.raw().toBuffer();
    job.catch(() => {}); // awaited below; an abort in between must not leave it unhandled
    return job;
  };
  const t0 = performance.now();
  let next = fetchTile(0);
  let done = 0;
  try {
    for (let row = 0; row < grid.rows; row++) {
      const bandY = row * core,
        bandH = Math.min(core, H - bandY);
      const band = new Uint8Array(W * bandH);
      for (let col = 0; col < grid.cols; col++) {
        signal?.throwIfAborted();
        const t = grid.tiles[row * grid.cols + col];
        const rgb = await next;
        if (t.index + 1 < grid.tiles.length) next = fetchTile(t.index + 1);
        const out = await opts.session.run(rgb, t.input.h, t.input.w);
        const ox = t.core.x - t.input.x,
          oy = t.core.y - t.input.y;
        for (let r = 0; r < t.core.h; r++) {
          const src = (oy + r) * t.input.w + ox;
          band.set(out.subarray(src, src + t.core.w), r * W + t.core.x);
        }
        opts.onTile?.(++done, grid.tiles.length);
      }
      maskFile.writeRows(bandY, band);
      const bandFile = path.join(opts.tmpDir, `mask-band-${String(row).padStart(4, '0')}.tif`);
      await sharp(band, { raw: { width: W, height: bandH, channels: 1 } })
        .toColourspace('b-w')
        .tiff({ compression: 'deflate', predictor: 'horizontal' })
        .toFile(bandFile);
      bandFiles.push(bandFile);
    }
  } catch (err) {
    maskFile.close();
    throw err;
  }
  return { grid, maskFile, bandFiles, seconds: (performance.now() - t0) / 1000 };
}
