// A survey's first step: the input image decoded once by libvips into an uncompressed tiled TIFF
// (random access to any tile for the tile step, and for the outputs). Intermediates are TIFFs,
// not libvips' .v: libvips memory-maps a .v whole, and those pages count as resident memory.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

/** Inputs up to this many pixels are accepted (20000×20000 and a margin). */
export const MAX_INPUT_PIXELS = 1_000_000_000;

/** A problem with the input image: one line for the user. */
export class SurveyInputError extends Error {}

export interface DecodeOptions {
  input: string;
  /** the survey's scratch folder: receives image.tif */
  tmpDir: string;
  signal?: AbortSignal;
  /** called before decoding (done 0) and after (done 1), with the image's megapixels */
  onProgress?: (done: number, megapixels: number) => void;
}

export interface DecodedImage {
  /** the tiled 8-bit sRGB TIFF in tmpDir */
  file: string;
  width: number;
  height: number;
  megapixels: number;
  /** of the input file as given */
  format: string | undefined;
  pages: number;
  sha256: string;
  bytes: number;
}

async function sha256(file: string, signal?: AbortSignal): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { signal })) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function decodeImage(opts: DecodeOptions): Promise<DecodedImage> {
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(opts.input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' }).metadata();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SurveyInputError('no such file');
    if (code === 'EACCES') throw new SurveyInputError('permission denied');
    const msg = String((err as Error).message).split('\n')[0];
    throw new SurveyInputError(/unsupported image format/i.test(msg) ? 'not an image, or a format libvips cannot read' : `cannot read the image: ${msg}`);
  }
  if (!meta.width || !meta.height) throw new SurveyInputError('the image has no size');
  const file = path.join(opts.tmpDir, 'image.tif');
  opts.onProgress?.(0, (meta.width * meta.height) / 1e6);
  try {
    // page 0 of a pyramidal TIFF is the full resolution; EXIF orientation applied; 8-bit sRGB
    await sharp(opts.input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', sequentialRead: true })
      .autoOrient()
      .removeAlpha()
      .toColourspace('srgb')
      .tiff({ compression: 'none', tile: true, tileWidth: 256, tileHeight: 256, bigtiff: true })
      .toFile(file);
  } catch (err) {
    throw new SurveyInputError(`cannot decode the image: ${String((err as Error).message).split('\n')[0]}`);
  }
  opts.signal?.throwIfAborted();
  const im = await sharp(file).metadata();
  const width = im.width!,
    height = im.height!;
  if (width < 32 || height < 32) throw new SurveyInputError(`the image is too small (${width}x${height}); at least 32x32 is needed`);
  if ((im.channels ?? 0) !== 3 || im.depth !== 'uchar') throw new SurveyInputError(`the image decoded to ${im.channels} ${im.depth} channels, not 8-bit RGB`);
  const megapixels = (width * height) / 1e6;
  const [checksum, bytes] = [await sha256(opts.input, opts.signal), fs.statSync(opts.input).size];
  opts.onProgress?.(1, megapixels);
  return { file, width, height, megapixels, format: meta.format, pages: meta.pages ?? 1, sha256: checksum, bytes };
}
