// file:///dir/ (a folder of images) and file:///path/image.jpg — looped through multifilesrc. The
// folder's images are linked under sequential names in a private temp dir, since multifilesrc
// reads a numbered pattern. Every image is decoded once with sharp before it joins the sequence:
// a corrupt, truncated or mislabelled file is left out (and counted as a bad frame) instead of
// reaching the decoder in the capture process. Results are cached by size + mtime, so a restart
// re-checks only files that changed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { extensionOf, isImageFile, LIVE_IMAGE_EXTENSIONS, type LiveImageExtension } from '../config/image-files.js';
import type { FrameGeometry, GstPipelineSpec } from './frame-source.js';
import { fraction } from './test-pattern.js';
import { oneLine } from '../log/one-line.js';

/** GStreamer's decoder for each image type the live source takes (config/image-files.ts: LIVE_IMAGE_EXTENSIONS). */
const DECODERS: Record<LiveImageExtension, { caps: string; decoder: string }> = {
  jpg: { caps: 'image/jpeg', decoder: 'jpegdec' },
  jpeg: { caps: 'image/jpeg', decoder: 'jpegdec' },
  png: { caps: 'image/png', decoder: 'pngdec' },
};
const FORMAT_CAPS: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png' };
/** larger images are refused rather than decoded (a 16k × 16k "image" is a memory bomb) */
const MAX_PIXELS = 8192 * 8192;

/** The images of a folder the live source can loop (.jpg, .jpeg, .png), sorted. */
export function listImages(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => isImageFile(f, LIVE_IMAGE_EXTENSIONS))
    .sort()
    .map((f) => path.join(dir, f));
}

interface Checked {
  key: string;
  error?: string;
}
const checked = new Map<string, Checked>();

/** Decodes the whole image; returns why it is unusable, or undefined when it is fine. */
export async function checkImage(file: string): Promise<string | undefined> {
  const expected = DECODERS[extensionOf(file) as LiveImageExtension]?.caps;
  try {
    const img = sharp(file, { failOn: 'warning', limitInputPixels: MAX_PIXELS, sequentialRead: true });
    const meta = await img.metadata();
    const caps = FORMAT_CAPS[meta.format ?? ''];
    if (!caps) return `not a JPEG or PNG image (${meta.format ?? 'unknown format'})`;
    if (caps !== expected) return `holds ${meta.format} data but is named ${path.extname(file)}`;
    await img.raw().toBuffer();
    return undefined;
  } catch (err) {
    return oneLine(err);
  }
}

/** Checks every image (cached by size + mtime). `fresh` lists the bad ones not reported before. */
export async function validateImages(images: string[]): Promise<{ good: string[]; bad: { file: string; error: string }[]; fresh: string[] }> {
  const good: string[] = [];
  const bad: { file: string; error: string }[] = [];
  const fresh: string[] = [];
  for (const file of images) {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      continue; // vanished while we looked: the next restart sees the folder as it is then
    }
    const key = `${st.size}:${st.mtimeMs}`;
    let c = checked.get(file);
    if (!c || c.key !== key) {
      c = { key, error: await checkImage(file) };
      checked.set(file, c);
      if (c.error) fresh.push(`${file}: skipped, cannot be decoded: ${c.error}`);
    }
    if (c.error) bad.push({ file, error: c.error });
    else good.push(file);
  }
  if (checked.size > 10_000) checked.clear();
  return { good, bad, fresh };
}

export async function imageFolderPipeline(target: string, g: FrameGeometry): Promise<GstPipelineSpec> {
  let isDir: boolean;
  try {
    isDir = fs.statSync(target).isDirectory();
  } catch (err) {
    throw new Error((err as NodeJS.ErrnoException).code === 'ENOENT' ? `${target} does not exist` : (err as Error).message);
  }
  const images = isDir ? listImages(target) : [target];
  if (images.length === 0) throw new Error(`${target} holds no .jpg, .jpeg or .png images`);
  const { good, bad, fresh } = await validateImages(images);
  if (good.length === 0) throw new Error(`${target} holds no image that can be decoded (${bad.length} bad, e.g. ${bad[0]?.file}: ${bad[0]?.error})`);
  // multifilesrc needs one decoder for the whole sequence: take the most common type.
  const byType = new Map<string, string[]>();
  for (const img of good) {
    const key = DECODERS[extensionOf(img) as LiveImageExtension].caps;
    byType.set(key, [...(byType.get(key) ?? []), img]);
  }
  const [caps, chosen] = [...byType.entries()].sort((a, b) => b[1].length - a[1].length)[0];
  const { decoder } = Object.values(DECODERS).find((d) => d.caps === caps)!;
  const seqDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crackscope-seq-'));
  chosen.forEach((img, i) => fs.symlinkSync(path.resolve(img), path.join(seqDir, `${String(i).padStart(6, '0')}.img`)));
  return {
    elements: ['multifilesrc', `location=${seqDir}/%06d.img`, 'index=0', 'loop=true', `caps=${caps},framerate=${fraction(g.fps)}`, '!', decoder],
    loops: false,
    requiredPaths: chosen,
    skipped: fresh,
    cleanup: () => fs.rmSync(seqDir, { recursive: true, force: true }),
  };
}
