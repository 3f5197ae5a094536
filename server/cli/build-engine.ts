// `crackscope build-engine`: the command line of the engine build (server/inference/engine-build.ts
// does the work: trtexec, the EPContext wrapper, the accuracy gate, the key).
//
//   crackscope build-engine [--model NAME] [--trtexec PATH] [--workspace-mb N]
//                           [--skip-trtexec --engine FILE]       (wrap an engine built elsewhere)
//                           [--int8 --calib DIR|CACHE|captures] [--val DIR] [--min-iou X]
//                           [--calib DIR|captures | --val DIR]   (FP16: the same accuracy gate)
// The gate (server/inference/gate.ts, as `crackscope compare`) runs the engine and the FP32 ONNX on
// the gate images (--val, else the calibration images: a folder, or the user's own captures) and
// refuses the engine when their masks' IoU falls below --min-iou.
//
// Exit codes: 0 built; 1 build failed or accuracy gate refused; 64 bad usage; 78 bad config/model.
import { ConfigError } from '../config/load.js';
import { configFromOptions } from './config-options.js';
import { EX_USAGE, UsageError } from './program.js';
import { startProgress } from './progress.js';
import { ModelError, resolveModel } from '../inference/manifest.js';
import { buildEngine, calibrationImages } from '../inference/engine-build.js';
import type { PlatformInfo } from '../inference/platform.js';
import { DEFAULT_MIN_IOU } from '../inference/gate-limits.js';
import { GateInputError } from '../inference/gate.js';
import { oneLine } from '../log/one-line.js';

type Out = (line: string) => void;

/** What tests hand the command through runCommand's context. */
export interface BuildEngineDeps {
  out?: Out;
  err?: Out;
  platform?: PlatformInfo;
}

interface BuildEngineFlags {
  skipTrtexec?: boolean;
  engine?: string;
  int8?: boolean;
  calib?: string;
  val?: string;
  minIou?: number;
  trtexec?: string;
  workspaceMb?: number;
}

/** Runs the command; config and model errors print their one line and exit 78, usage errors 64. */
export async function runBuildEngine(opts: Record<string, unknown>, deps: BuildEngineDeps): Promise<number> {
  // on the command line, a progress bar (a terminal) or a line every 10 s (trtexec takes minutes)
  const progress = deps.out ? undefined : startProgress({ label: 'build-engine', total: 1, unit: 'steps' });
  const out: Out = deps.out ?? ((l) => (progress ? progress.log(l) : process.stdout.write(l + '\n')));
  const err: Out = deps.err ?? ((l) => (progress ? progress.log(l, process.stderr) : process.stderr.write(l + '\n')));
  try {
    const flags = opts as BuildEngineFlags;
    const config = configFromOptions(opts);
    const skip = flags.skipTrtexec === true;
    const int8 = flags.int8 === true;
    const minIou = flags.minIou ?? DEFAULT_MIN_IOU; // --min-iou and --engine are checked by the spec's parsers
    // the gate's images: --val, else the calibration images (captures or a folder)
    const calibImages = calibrationImages(flags.calib, config.dataDir, config.engineDir);
    const valDir = flags.val ?? calibImages;
    if (skip && typeof flags.engine !== 'string')
      throw new UsageError('--skip-trtexec needs --engine FILE (an engine built elsewhere, e.g. by trtexec by hand)');
    if (!skip && flags.engine !== undefined) throw new UsageError('--engine FILE goes with --skip-trtexec');
    if (int8 && !skip && !flags.calib)
      throw new UsageError('--int8 needs --calib DIR|captures (calibration images and their calibration.cache, or the cache file itself)');
    if (int8 && !valDir)
      throw new UsageError(
        '--int8 needs images to check it on: --calib DIR|captures with images, or --val DIR. INT8 is only kept when its masks agree with FP32',
      );
    const modelFiles = resolveModel(config.modelsDir, config.model);
    const kept = await buildEngine(
      {
        modelFiles,
        engineDir: config.engineDir,
        precision: int8 ? 'int8' : 'fp16',
        givenEngine: skip ? flags.engine : undefined,
        calib: flags.calib,
        calibImages,
        valDir,
        minIou,
        trtexec: flags.trtexec,
        workspaceMb: flags.workspaceMb,
        platform: deps.platform,
      },
      {
        out,
        err,
        onProgress: (done, total, step) => {
          progress?.setTotal(total);
          progress?.update(done, step);
        },
      },
    );
    return kept ? 0 : 1;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof ModelError) {
      err(oneLine(e));
      return 78;
    }
    if (e instanceof UsageError || e instanceof GateInputError) {
      err(`build-engine: ${e.message} (see 'crackscope build-engine --help')`);
      return EX_USAGE;
    }
    err(`build-engine: ${(e as Error).message}`);
    return 1;
  } finally {
    progress?.stop();
  }
}
