// Which files are images (one list: still images, and the part of it the live source decodes), the
// images a path given on the command line stands for, and an output name for each. Here, below the
// camera and the model, because the live file:// source, `infer`, `survey`, `campaign` and the
// acceptance gate all ask.
import fs from 'node:fs';
import path from 'node:path';

/** Still images the commands read (sharp decodes them): infer, survey, campaign. */
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff'] as const;

/**
 * Of those, the ones the live file:// source loops (GStreamer decodes them: jpegdec, pngdec; see
 * camera/image-folder.ts) and the acceptance gate reads from a folder. A folder of TIFFs is
 * surveyed, not shown live.
 */
export const LIVE_IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png'] as const satisfies readonly (typeof IMAGE_EXTENSIONS)[number][];
export type LiveImageExtension = (typeof LIVE_IMAGE_EXTENSIONS)[number];

/** The file name's extension, lower case, without the dot ('' when it has none). */
export const extensionOf = (file: string) => path.extname(file).slice(1).toLowerCase();

/** Whether the name ends in one of `extensions` (by default any still image's). */
export const isImageFile = (file: string, extensions: readonly string[] = IMAGE_EXTENSIONS) => extensions.includes(extensionOf(file));

/**
 * Output names for images, one per image and never twice: wall.jpg → "wall", a second wall.png →
 * "wall-2". `release` gives a name back when its image failed (the next image may take it).
 */
export function outputNames() {
  const used = new Set<string>();
  return {
    claim(image: string): string {
      const stem = path.basename(image).replace(/\.[^.]+$/, '') || 'image';
      let name = stem;
      for (let i = 2; used.has(name); i++) name = `${stem}-${i}`;
      used.add(name);
      return name;
    },
    release(name: string): void {
      used.delete(name);
    },
  };
}

/** infer's own outputs beside the images (<name>.mask.png, <name>.overlay.png): never inputs. */
const isOutputName = (f: string) => /\.(mask|overlay)\.png$/i.test(f);

/** The images a path stands for: a file = itself, a folder = its images (not our own outputs), sorted. */
export function expandInput(p: string): { images: string[]; error?: string } {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { images: [], error: code === 'ENOENT' ? 'no such file or folder' : `cannot read it (${code ?? (err as Error).message})` };
  }
  if (st.isDirectory()) {
    let names: string[];
    try {
      names = fs.readdirSync(p);
    } catch (err) {
      return { images: [], error: `cannot list the folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
    }
    const images = names
      .filter((f) => isImageFile(f) && !isOutputName(f))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
      .map((f) => path.join(p, f))
      .filter((f) => fs.statSync(f).isFile());
    return images.length ? { images } : { images: [], error: `the folder holds no images (${IMAGE_EXTENSIONS.join(', ')})` };
  }
  return { images: [p] };
}
