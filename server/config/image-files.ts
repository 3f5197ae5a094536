// Which files are images, and the images a path given on the command line stands for. Here, below
// the camera and the model, because the live file:// source, `infer`, `survey`, `campaign` and the
// acceptance gate all ask.
import fs from 'node:fs';
import path from 'node:path';

/** Still images the commands read (sharp decodes them): infer, survey, campaign. */
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff'] as const;

/** The file name's extension, lower case, without the dot ('' when it has none). */
export const extensionOf = (file: string) => path.extname(file).slice(1).toLowerCase();

/** Whether the name ends in one of `extensions` (by default any still image's). */
export const isImageFile = (file: string, extensions: readonly string[] = IMAGE_EXTENSIONS) => extensions.includes(extensionOf(file));

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
