// A survey's full-size images, each made by libvips from files so memory stays bounded: the mask
// (the bands joined), the overlay, the overview JPEG and the Deep Zoom pyramid. Three libvips
// habits are avoided here: composite() loads its overlay whole, JPEG with optimised Huffman tables
// keeps every coefficient of the image, and a .v intermediate is memory-mapped whole.
import fs from 'node:fs';
import path from 'node:path';
import sharp, { type OutputInfo } from 'sharp';

export const OVERVIEW_SIDE = 2048;

export interface ImageOutputsOptions {
  /** the decoded image (decode.ts) */
  image: string;
  width: number;
  height: number;
  /** the band TIFFs from inferTiles, deleted once joined */
  bandFiles: string[];
  threshold: number;
  /** the survey's folder (receives mask.tif, overlay, overview.jpg, dzi/) */
  outDir: string;
  /** its scratch folder */
  tmpDir: string;
  /** called after each of the four images */
  stepDone: () => void;
}

export interface ImageOutputs {
  overlayName: 'overlay.jpg' | 'overlay.tif';
  overview: { data: Buffer; info: OutputInfo };
}

export async function writeImageOutputs(opts: ImageOutputsOptions): Promise<ImageOutputs> {
  const { image, width: W, height: H, outDir, tmpDir, stepDone } = opts;
  const big = W * H > 2_000_000_000;
  // the bands joined top to bottom (join pads every cell to the tallest; the crop takes the pad off);
  // a photograph within one tile row has one band, which libvips' join refuses
  const maskTif = path.join(outDir, 'mask.tif');
  const bands = opts.bandFiles.length === 1 ? sharp(opts.bandFiles[0]) : sharp(opts.bandFiles, { join: { across: 1 } });
  await bands
    .extract({ left: 0, top: 0, width: W, height: H })
    .extractChannel(0)
    .toColourspace('b-w')
    .tiff({ compression: 'deflate', predictor: 'horizontal', tile: true, tileWidth: 256, tileHeight: 256, bigtiff: big })
    .toFile(maskTif);
  for (const f of opts.bandFiles) fs.rmSync(f);
  stepDone();
  const cut = Math.ceil(opts.threshold * 255 - 1e-9);
  // overlay = image over magenta with alpha 1 − 0.75·crack. (sharp's composite() would load the
  // overlay whole into memory; joinChannel + flatten stream. flatten runs before joinChannel in
  // one sharp pipeline, hence the two steps.)
  const alphaV = path.join(tmpDir, 'alpha.tif'),
    rgbaTif = path.join(tmpDir, 'rgba.tif');
  await sharp(maskTif).threshold(cut).linear(-0.75, 255).toColourspace('b-w').tiff({ compression: 'none', bigtiff: true }).toFile(alphaV);
  await sharp(image, { sequentialRead: true }).joinChannel(alphaV).toColourspace('srgb').tiff({ compression: 'none', bigtiff: true }).toFile(rgbaTif);
  fs.rmSync(alphaV);
  const overlayName = W > 65000 || H > 65000 ? 'overlay.tif' : 'overlay.jpg';
  const overlay = sharp(rgbaTif, { sequentialRead: true }).flatten({ background: '#ff00ff' });
  await (
    overlayName === 'overlay.jpg' ? overlay.jpeg({ quality: 88, optimiseCoding: false }) : overlay.tiff({ compression: 'jpeg', tile: true, bigtiff: big })
  ).toFile(path.join(outDir, overlayName));
  fs.rmSync(rgbaTif);
  stepDone();
  const overview = await sharp(image)
    .resize({ width: OVERVIEW_SIDE, height: OVERVIEW_SIDE, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 85 })
    .toBuffer({ resolveWithObject: true });
  fs.writeFileSync(path.join(outDir, 'overview.jpg'), overview.data);
  stepDone();
  fs.mkdirSync(path.join(outDir, 'dzi'));
  await sharp(image)
    .jpeg({ quality: 85 })
    .tile({ size: 254, overlap: 1, layout: 'dz' })
    .toFile(path.join(outDir, 'dzi', 'image.dz'));
  stepDone();
  return { overlayName, overview };
}
