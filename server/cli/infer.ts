// `crackscope infer <image|folder>… [--out DIR] [--model NAME] [--threshold X] [--mm-per-px X] [--json]`
//
// For each still image: the model, its mask, overlay and crack report (server/inference/still-image.ts
// does the work), and one summary line here. A bad input prints one line on stderr and the others
// are still processed; the exit code is then 1.
import fs from 'node:fs';
import path from 'node:path';
import { identityOptions } from '../analysis/crack-measure.js';
import { expandInput, outputNames } from '../config/image-files.js';
import { reportLanguage } from '../i18n/report-language.js';
import { configFromOptions } from './config-options.js';
import { startProgress } from './progress.js';
import { resolveModel } from '../inference/manifest.js';
import { createCrackSession } from '../inference/session.js';
import { inferImage, StillImageError, type InferImageResult } from '../inference/still-image.js';
import { createLogger, type LogLevel } from '../log/logger.js';
import { oneLine } from '../log/one-line.js';

export async function runInfer(inputs: string[], opts: Record<string, unknown>): Promise<number> {
  const config = configFromOptions(opts); // ConfigError → main prints it and exits 78
  // the values are checked by the spec's parsers (commands/infer.ts): a bad one never gets here
  const extra = opts as { out: string; threshold?: number; mmPerPx?: number; json?: boolean; lang?: string };
  // the language of the per-image lines: --lang, else the kiosk's default, else English (the JSON stays as it is)
  const L = reportLanguage(extra.lang ?? (config.kioskDefaultLanguage || 'en'), config.kioskLanguages);
  const json = extra.json === true;
  const outDir = path.resolve(extra.out);
  const mmPerPx = extra.mmPerPx;
  const model = resolveModel(config.modelsDir, config.model); // ModelError → exit 78
  const threshold = extra.threshold ?? model.manifest.threshold;

  // Logs go to stderr so stdout stays the summary; only errors unless --log-level says otherwise.
  const level: LogLevel = opts.logLevel !== undefined ? config.logLevel : 'error';
  const log = createLogger(level, { cmd: 'infer' }, (l) => process.stderr.write(l));
  const out = json ? process.stderr : process.stdout; // the per-image lines

  const session = await createCrackSession({
    model,
    providers: config.providers,
    threads: config.threads,
    log,
    logLevel: level, // the inference worker's own logger (stdout) stays quiet below this
    // The TensorRT engine is built for one static shape (the live size); infer runs every image at
    // its own size, so it uses the next provider.
    resolveTensorrt: () => ({ ok: false, reason: 'infer runs each image at its own size; the TensorRT engine is built for the live size only' }),
  });

  try {
    fs.mkdirSync(outDir, { recursive: true });
  } catch (err) {
    await session.release();
    process.stderr.write(`crackscope infer: cannot create the output folder ${outDir}: ${oneLine(err)}\n`);
    return 73; // EX_CANTCREAT
  }

  // the work, in the order given: each input's images, or why it has none
  type Work = { input: string; image: string } | { input: string; error: string };
  const work = inputs.flatMap((input): Work[] => {
    const { images, error } = expandInput(input);
    return error ? [{ input, error }] : images.map((image) => ({ input, image }));
  });
  const total = work.filter((w) => 'image' in w).length;
  const progress = total > 1 ? startProgress({ label: 'infer', total, unit: 'images' }) : undefined;
  const say = (line: string) => (progress ? progress.log(line, out) : out.write(line + '\n'));
  const complain = (line: string) => (progress ? progress.log(line, process.stderr) : process.stderr.write(line + '\n'));
  const results: InferImageResult[] = [];
  const names = outputNames();
  let done = 0;
  try {
    for (const w of work) {
      if (!('image' in w)) {
        complain(`crackscope infer: ${w.input}: ${w.error}`);
        results.push({ image: w.input, ok: false, error: w.error });
        continue;
      }
      const { image } = w;
      const name = names.claim(image);
      progress?.update(done, path.basename(image));
      try {
        const r = await inferImage(session, image, name, outDir, { threshold, mmPerPx, identity: identityOptions(config) });
        results.push(r);
        say(
          `${L.t('infer_line', { image, cracks: L.t('infer_cracks', { count: r.crack_count!, defaultValue: String(r.crack_count) }), pixels: L.num(r.crack_pixels!), length: L.num(r.total_length_px!, 1), max: L.num(r.max_width_px!, 1), mean: L.num(r.mean_width_px!, 1) })}  [${r.width}x${r.height}, ${session.providerLabel}, ${Math.round(r.ms!)} ms] -> ${path.join(outDir, name)}.{mask.png,overlay.png,json}`,
        );
      } catch (err) {
        names.release(name);
        const msg = err instanceof StillImageError ? err.message : `failed: ${oneLine(err)}`;
        complain(`crackscope infer: ${image}: ${msg}`);
        results.push({ image, ok: false, error: msg });
      }
      progress?.update(++done);
    }
  } finally {
    progress?.stop();
    await session.release();
  }

  const failed = results.filter((r) => !r.ok).length;
  if (json) {
    const m = model.manifest;
    process.stdout.write(
      JSON.stringify({
        model: m.name,
        version: m.version,
        provider: session.provider,
        provider_label: session.providerLabel,
        fallbacks: session.fallbacks,
        threshold,
        mm_per_px: mmPerPx ?? null,
        out: outDir,
        processed: results.length - failed,
        failed,
        images: results,
      }) + '\n',
    );
  }
  return failed > 0 ? 1 : 0;
}
