// `crackscope survey <image|folder>… [--out DIR] [--mm-per-px X | --calibration NAME] …`
// Full-resolution tiled inference over large images; one output folder per image
// (server/survey/README.md). Exit 0 = all surveyed, 1 = some failed, 64 = usage, 78 = config,
// 130 = interrupted (nothing half-written is left).
import path from 'node:path';
import sharp from 'sharp';
import { ConfigError } from '../config/load.js';
import { configFromOptions } from './config-options.js';
import { reportLanguage } from '../i18n/report-language.js';
import { UsageError } from './program.js';
import { resolveModel } from '../inference/manifest.js';
import { createCrackSession } from '../inference/session.js';
import { createLogger, type LogLevel } from '../log/logger.js';
import { CalibrationStore } from '../storage/calibration.js';
import { MAX_INPUT_PIXELS, runSurvey, SurveyInputError, type SurveyProgress } from '../survey/run-survey.js';
import { DEFAULT_WIDTH_CLASSES, parseWidthClasses } from '../survey/width-classes.js';
import { expandInput, outputNames } from '../config/image-files.js';
import { identityOptions } from '../analysis/crack-measure.js';
import { oneLine } from '../log/one-line.js';

/**
 * The survey's own flags as commander hands them over, their values checked by the spec's parsers
 * (commands/parse.ts: a bad value is exit 64 before anything runs); `campaign` takes them too.
 */
export interface SurveyFlags {
  lang?: string;
  out?: string;
  mmPerPx?: number;
  /** checked: parses with parseWidthClasses */
  widthClasses?: string;
  threshold?: number;
  tile?: number;
  margin?: number;
  minLengthPx?: number;
  pdf?: boolean;
  json?: boolean;
}

/** `crackscope survey …` (commands/survey.ts runs it): checks the flags, runs the survey, returns the exit code. */
export async function runSurveyCommand(inputs: string[], opts: Record<string, unknown>): Promise<number> {
  const extra = opts as SurveyFlags & { calibration?: string };
  if (extra.mmPerPx !== undefined && extra.calibration !== undefined) throw new UsageError('give --mm-per-px or --calibration, not both');
  const config = configFromOptions(opts); // ConfigError → main prints it and exits 78
  // the report's language: --lang, else the kiosk's default language, else English
  const language = reportLanguage(extra.lang ?? (config.kioskDefaultLanguage || 'en'), config.kioskLanguages);
  const { mmPerPx: mmFlag, tile: core, margin, minLengthPx } = extra;
  const classes = parseWidthClasses(extra.widthClasses ?? DEFAULT_WIDTH_CLASSES);
  const model = resolveModel(config.modelsDir, config.model);
  const threshold = extra.threshold ?? model.manifest.threshold;
  const level: LogLevel = opts.logLevel !== undefined ? config.logLevel : 'error';
  const log = createLogger(level, { cmd: 'survey' }, (l) => process.stderr.write(l));
  let calibration: { name: string; mmPerPx: number; mask?: { width: number; height: number } } | null = null;
  if (extra.calibration !== undefined) {
    const store = new CalibrationStore(config.dataDir, log);
    const cal = await store.get(extra.calibration);
    if (!cal) {
      const known = Object.keys(await store.all());
      throw new ConfigError(
        `config error: --calibration = ${JSON.stringify(extra.calibration)} is not in ${store.file}; known: ${known.length ? known.join(', ') : 'none'}`,
      );
    }
    calibration = { name: extra.calibration, mmPerPx: cal.mmPerPx, mask: cal.mask };
  }
  const json = extra.json === true;
  const outDir = path.resolve(extra.out ?? config.surveyDir); // the kiosk lists config.surveyDir
  const chromium = extra.pdf === false ? null : (process.env.CRACKSCOPE_CHROMIUM ?? '/usr/bin/chromium');

  const session = await createCrackSession({
    model,
    providers: config.providers,
    threads: config.threads,
    log,
    logLevel: level,
    resolveTensorrt: () => ({ ok: false, reason: 'survey runs tiles of their own size; the TensorRT engine is built for the live size only' }),
  });
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) return;
    process.stderr.write('\ncrackscope survey: interrupted; removing the unfinished output\n');
    abort.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const progress = progressPrinter(process.stderr);
  const results: Record<string, unknown>[] = [];
  const names = outputNames();
  try {
    for (const input of inputs) {
      const { images, error } = expandInput(input);
      if (error) {
        process.stderr.write(`crackscope survey: ${input}: ${error}\n`);
        results.push({ image: input, ok: false, error });
        continue;
      }
      for (const image of images) {
        if (abort.signal.aborted) break;
        const name = names.claim(image);
        try {
          const mm = mmFlag !== undefined ? { mmPerPx: mmFlag, source: '--mm-per-px' } : calibration ? await calibrationFor(image, calibration) : null;
          progress.start(image);
          const r = await runSurvey({
            input: image,
            outDir,
            name,
            session,
            threshold,
            mmPerPx: mm?.mmPerPx ?? null,
            calibrationSource: mm?.source,
            classes,
            core,
            margin,
            minLengthPx,
            identity: identityOptions(config),
            chromium,
            language,
            signal: abort.signal,
            onProgress: progress.update,
          });
          progress.end();
          const line = `${image}: ${r.crackCount} crack${r.crackCount === 1 ? '' : 's'}, length ${r.totalLengthPx.toFixed(0)} px${mm ? ` (${((r.totalLengthPx * mm.mmPerPx) / 1000).toFixed(3)} m)` : ''} [${r.width}x${r.height}, ${r.tiles} tiles, ${session.providerLabel}, ${r.seconds.toFixed(1)} s, ${r.inferMpPerS.toFixed(2)} MP/s] -> ${r.folder}${r.pdf ? '' : ` (no PDF: ${r.pdfError})`}`;
          (json ? process.stderr : process.stdout).write(line + '\n');
          results.push({
            image,
            ok: true,
            folder: r.folder,
            width: r.width,
            height: r.height,
            tiles: r.tiles,
            cracks: r.crackCount,
            total_length_px: Math.round(r.totalLengthPx * 100) / 100,
            seconds: Math.round(r.seconds * 100) / 100,
            infer_mp_per_s: Math.round(r.inferMpPerS * 1000) / 1000,
            pdf: r.pdf,
          });
        } catch (err) {
          progress.end();
          names.release(name);
          if (abort.signal.aborted) break;
          const msg = err instanceof SurveyInputError ? err.message : `failed: ${oneLine(err)}`;
          process.stderr.write(`crackscope survey: ${image}: ${msg}\n`);
          results.push({ image, ok: false, error: msg });
        }
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await session.release();
  }
  if (abort.signal.aborted) return 130;
  const failed = results.filter((r) => !r.ok).length;
  if (json) {
    const m = model.manifest;
    process.stdout.write(
      JSON.stringify({
        model: m.name,
        version: m.version,
        provider: session.provider,
        out: outDir,
        surveyed: results.length - failed,
        failed,
        surveys: results,
      }) + '\n',
    );
  }
  return failed > 0 ? 1 : 0;
}

/**
 * A stored calibration is in the live mask's pixels. A still from the same camera at another
 * resolution has the same framing, so the scale carries over by the ratio of widths; an image
 * of another shape is not the same framing, and the user must give --mm-per-px.
 */
async function calibrationFor(image: string, cal: { name: string; mmPerPx: number; mask?: { width: number; height: number } }) {
  if (!cal.mask) return { mmPerPx: cal.mmPerPx, source: `calibration "${cal.name}" (${cal.mmPerPx} mm/px, taken as image pixels)` };
  const meta = await sharp(image, { limitInputPixels: MAX_INPUT_PIXELS })
    .metadata()
    .catch(() => null);
  if (!meta?.width || !meta.height) throw new SurveyInputError('cannot read the image size');
  const swap = (meta.orientation ?? 1) >= 5;
  const w = swap ? meta.height : meta.width,
    h = swap ? meta.width : meta.height;
  if (Math.abs(w / h - cal.mask.width / cal.mask.height) > 0.01 * (cal.mask.width / cal.mask.height)) {
    throw new SurveyInputError(
      `calibration "${cal.name}" was set on a ${cal.mask.width}x${cal.mask.height} live view; this ${w}x${h} image has another shape, so give --mm-per-px`,
    );
  }
  const k = (cal.mmPerPx * cal.mask.width) / w;
  return {
    mmPerPx: k,
    source: `calibration "${cal.name}": ${cal.mmPerPx} mm per live-mask pixel at ${cal.mask.width}x${cal.mask.height}, scaled to this image's width`,
  };
}

const PHASES: Record<SurveyProgress['phase'], string> = { decode: 'decoding', tiles: 'tiles', measure: 'measuring', outputs: 'writing' };

/** A progress bar on a terminal; a plain line per phase and per 10 % of the tiles otherwise. */
function progressPrinter(out: NodeJS.WriteStream) {
  const tty = out.isTTY === true;
  let image = '',
    lastKey = '',
    t0 = 0,
    drawn = false;
  return {
    start(img: string) {
      image = img;
      lastKey = '';
      t0 = performance.now();
    },
    end() {
      if (tty && drawn) out.write('\n');
      drawn = false;
    },
    update: (p: SurveyProgress) => {
      const pct = p.total ? Math.floor((100 * p.done) / p.total) : 0;
      const secs = (performance.now() - t0) / 1000;
      let extra = '';
      if (p.phase === 'tiles' && p.done > 0) {
        const eta = (secs / p.done) * (p.total - p.done);
        extra = ` ${p.done}/${p.total}, ETA ${eta >= 60 ? `${Math.floor(eta / 60)}m${Math.round(eta % 60)}s` : `${Math.round(eta)}s`}`;
      }
      if (tty) {
        const width = 30,
          fill = Math.round((width * pct) / 100);
        out.write(
          `\r${path.basename(image)} ${PHASES[p.phase].padEnd(9)} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${String(pct).padStart(3)}%${extra}\x1b[K`,
        );
        drawn = true;
        return;
      }
      const key = `${p.phase}:${p.phase === 'tiles' ? Math.floor(pct / 10) : p.done === p.total ? 'end' : 'start'}`;
      if (key === lastKey) return;
      lastKey = key;
      if (p.phase !== 'tiles' && p.done !== 0 && p.done !== p.total) return;
      out.write(`survey: ${image}: ${PHASES[p.phase]} ${pct}%${extra} (${p.megapixels.toFixed(1)} MP, ${secs.toFixed(0)} s)\n`);
    },
  };
}
