// file:///dir/ (a folder of images) and file:///path/image.jpg — looped through multifilesrc. The
// folder's images are linked under sequential names in a private temp dir, since multifilesrc
// reads a numbered pattern.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FrameGeometry, GstPipelineSpec } from './frame-source.js';
import { fraction } from './test-pattern.js';

const DECODERS: Record<string, { caps: string; decoder: string }> = {
  jpg: { caps: 'image/jpeg', decoder: 'jpegdec' },
  jpeg: { caps: 'image/jpeg', decoder: 'jpegdec' },
  png: { caps: 'image/png', decoder: 'pngdec' },
};

export const IMAGE_EXTENSIONS = Object.keys(DECODERS);

export function listImages(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => IMAGE_EXTENSIONS.includes(path.extname(f).slice(1).toLowerCase()))
    .sort()
    .map((f) => path.join(dir, f));
}

export function imageFolderPipeline(target: string, g: FrameGeometry): GstPipelineSpec {
  const images = fs.statSync(target).isDirectory() ? listImages(target) : [target];
  if (images.length === 0) throw new Error(`${target} holds no .jpg, .jpeg or .png images`);
  // multifilesrc needs one decoder for the whole sequence: take the most common type.
  const byType = new Map<string, string[]>();
  for (const img of images) {
    const ext = path.extname(img).slice(1).toLowerCase();
    const key = DECODERS[ext]?.caps;
    if (!key) throw new Error(`${img}: unsupported image type`);
    byType.set(key, [...(byType.get(key) ?? []), img]);
  }
  const [caps, chosen] = [...byType.entries()].sort((a, b) => b[1].length - a[1].length)[0];
  const { decoder } = Object.values(DECODERS).find((d) => d.caps === caps)!;
  const seqDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crackscope-seq-'));
  chosen.forEach((img, i) => fs.symlinkSync(path.resolve(img), path.join(seqDir, `${String(i).padStart(6, '0')}.img`)));
  return {
    elements: [
      'multifilesrc', `location=${seqDir}/%06d.img`, 'index=0', 'loop=true', `caps=${caps},framerate=${fraction(g.fps)}`,
      '!', decoder,
    ],
    loops: false,
    requiredPaths: chosen,
    cleanup: () => fs.rmSync(seqDir, { recursive: true, force: true }),
  };
}
