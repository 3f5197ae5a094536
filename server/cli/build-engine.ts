// `crackscope build-engine`: on the device, builds a TensorRT engine for the model at the live
// input size (static shape), keeps trtexec's timing cache, and writes the EPContext wrapper that
// ONNX Runtime's tensorrt provider loads, plus a key JSON saying what the engine is valid for.
//
//   crackscope build-engine [--model NAME] [--trtexec PATH] [--workspace-mb N]
//                           [--skip-trtexec --engine FILE]       (wrap an engine built elsewhere)
//                           [--int8 --calib DIR|CACHE|captures] [--val DIR] [--min-iou X]
//                           [--calib DIR|captures | --val DIR]   (FP16: the same accuracy gate)
// The gate (compare.ts, as `crackscope compare`) runs the engine and the FP32 ONNX on the gate images
// (--val, else the calibration images: a folder, or the user's own captures) and refuses the engine
// when their masks' IoU falls below --min-iou.
//
// Exit codes: 0 built; 1 build failed or accuracy gate refused; 64 bad usage; 78 bad config/model.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { ConfigError } from '../config/load.js';
import { configFromOptions } from './config-options.js';
import { EX_USAGE, UsageError } from './program.js';
import { startProgress, type Progress } from './progress.js';
import { ModelError, resolveModel, type ModelFiles } from '../inference/manifest.js';
import { tensorrtIoProblems } from '../inference/onnx-graph.js';
import { buildEpContextModel, parseOnnxModel, dtypeName, ONNX_DTYPE, type TensorInfo } from '../inference/epcontext.js';
import { listImages } from '../camera/image-folder.js';
import { thresholdByte } from '../inference/agreement.js';
import { compareOnImages, describeReport, listComparisonImages, type ComparisonReport, type MaskModel } from './compare.js';
import {
  detectPlatform,
  engineBaseName,
  keyPathFor,
  sha256File,
  PRECISION_LABEL,
  type EngineKey,
  type PlatformInfo,
  type Precision,
} from '../inference/engine-cache.js';

/** Default IoU the INT8 or FP16 mask must reach against FP32 (the same default as `crackscope compare`). */
export { DEFAULT_MIN_IOU } from './compare-limits.js';
import { DEFAULT_MIN_IOU } from './compare-limits.js';
import { writeFileAtomicSync } from '../storage/atomic.js';

type Out = (line: string) => void;

/** Finds trtexec: --trtexec, $TRTEXEC, JetPack's /usr/src/tensorrt/bin, then PATH. */
export function findTrtexec(explicit?: string): string | undefined {
  const cands = [explicit, process.env.TRTEXEC, '/usr/src/tensorrt/bin/trtexec', '/usr/local/tensorrt/bin/trtexec'];
  for (const c of cands) if (c && fs.existsSync(c)) return c;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, 'trtexec');
    if (dir && fs.existsSync(p)) return p;
  }
  return undefined;
}

export interface ModelIo {
  input: TensorInfo;
  output: TensorInfo;
  /** the trtexec --shapes value when the graph's input has dynamic dims, else undefined */
  shapesArg?: string;
  staticShape: number[];
  irVersion: number;
  opsetVersion: number;
  /** things TensorRT may mishandle that do not stop the build (the output tail), one line each */
  warnings: string[];
}

/** Checks the ONNX graph against the manifest and works out the static shape to build for. */
export function modelIo(modelFiles: ModelFiles, bytes: Buffer): ModelIo {
  const m = modelFiles.manifest;
  const info = parseOnnxModel(bytes);
  const fail = (what: string) => {
    throw new ModelError(`model error: ${modelFiles.onnxPath}: ${what}`);
  };
  const input =
    info.inputs.find((i) => i.name === m.input.name) ??
    fail(`graph has no input named ${JSON.stringify(m.input.name)} (inputs: ${info.inputs.map((i) => i.name).join(', ')})`);
  const output =
    info.outputs.find((o) => o.name === m.output.name) ??
    fail(`graph has no output named ${JSON.stringify(m.output.name)} (outputs: ${info.outputs.map((o) => o.name).join(', ')})`);
  if (info.inputs.length !== 1) fail(`graph has ${info.inputs.length} inputs; an engine wrapper needs exactly the one image input`);
  if (input.elemType !== ONNX_DTYPE.uint8) fail(`input ${input.name} is ${dtypeName(input.elemType)}, the manifest says uint8`);
  if (output.elemType !== ONNX_DTYPE.uint8) fail(`output ${output.name} is ${dtypeName(output.elemType)}, the manifest says uint8`);
  // TensorRT takes uint8 network I/O only through a Cast: a Transpose (or anything) first fails in trtexec
  const inputProblems = tensorrtIoProblems({ ...info, outputs: [] });
  if (inputProblems.length) fail(inputProblems.join('; '));
  const warnings = tensorrtIoProblems({ ...info, inputs: [] }, { output: true });
  const shape = input.shape ?? fail(`input ${input.name} has no shape`);
  if (shape.length !== 4) fail(`input ${input.name} has rank ${shape.length}, want 4 (NHWC)`);
  const want = [1, m.input.height, m.input.width, 3];
  let dynamic = false;
  shape.forEach((d, i) => {
    if (typeof d === 'number' && d > 0) {
      if (d !== want[i]) fail(`input ${input.name} dim ${i} is fixed at ${d} in the graph, but the live shape is ${want.join('x')}`);
    } else dynamic = true;
  });
  const opset = info.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 17;
  return {
    input: { name: input.name, elemType: input.elemType, shape: want },
    output: { name: output.name, elemType: output.elemType, shape: [1, m.input.height, m.input.width] },
    shapesArg: dynamic ? `${input.name}:${want.join('x')}` : undefined,
    staticShape: want,
    irVersion: info.irVersion,
    opsetVersion: opset,
    warnings,
  };
}

function versionAtLeast(v: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = v.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/** The trtexec command line for one build. */
export function trtexecArgs(o: {
  onnx: string;
  engineOut: string;
  timingCache: string;
  precision: Precision;
  shapesArg?: string;
  calibCache?: string;
  workspaceMb?: number;
  tensorrtVersion?: string;
}): string[] {
  const args = [`--onnx=${o.onnx}`, `--saveEngine=${o.engineOut}`, `--timingCacheFile=${o.timingCache}`, '--fp16'];
  // no 10-15 s benchmark after the build: --skipInference from TensorRT 8.6, --buildOnly before
  if (o.tensorrtVersion) args.push(versionAtLeast(o.tensorrtVersion, 8, 6) ? '--skipInference' : '--buildOnly');
  if (o.precision === 'int8') {
    args.push('--int8');
    if (o.calibCache) args.push(`--calib=${o.calibCache}`);
  }
  if (o.shapesArg) args.push(`--shapes=${o.shapesArg}`); // min = opt = max: a static profile
  if (o.workspaceMb) args.push(`--memPoolSize=workspace:${o.workspaceMb}`);
  return args;
}

function runTrtexec(bin: string, args: string[], out: Out): Promise<{ code: number; log: string }> {
  return new Promise((resolve) => {
    out(`$ ${bin} ${args.join(' ')}`);
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let partial = '';
    const onData = (d: Buffer) => {
      const s = d.toString();
      log += s;
      partial += s;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines)
        if (/\[E\]|\[W\]|PASSED|FAILED|TensorRT version|Selected Device|Compute Capability|GPU Compute Time|Engine built/i.test(l))
          out(`  trtexec: ${l.trim()}`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => resolve({ code: 127, log: log + String(err) }));
    child.on('close', (code) => resolve({ code: code ?? 1, log }));
  });
}

/** What trtexec says about itself, to cross-check the key. */
export function parseTrtexecLog(log: string): { tensorrtVersion?: string; device?: string; computeCapability?: string } {
  // "TensorRT version: 8.6.2", or the banner "[TensorRT v8502]" (8.5.2) / "[TensorRT v100300]" (10.3.0)
  const banner = /TensorRT v(\d{4}|\d{6})\b/.exec(log)?.[1];
  const fromBanner = banner
    ? (banner.length === 4 ? [banner[0], banner[1], banner.slice(2)] : [banner.slice(0, 2), banner.slice(2, 4), banner.slice(4)]).map(Number).join('.')
    : undefined;
  const ver = /TensorRT version:\s*(\d+\.\d+\.\d+)/.exec(log)?.[1] ?? fromBanner;
  const device = /Selected Device:\s*(.+)/.exec(log)?.[1]?.trim();
  const cc = /Compute Capability:\s*(\d+)\.(\d+)/.exec(log);
  return { tensorrtVersion: ver, device, computeCapability: cc ? `${cc[1]}${cc[2]}` : undefined };
}

function calibCacheFrom(calib: string | undefined): string | undefined {
  if (!calib) return undefined;
  try {
    const st = fs.statSync(calib);
    if (st.isFile()) return calib;
    const c = path.join(calib, 'calibration.cache');
    if (fs.existsSync(c)) return c;
  } catch {
    /* missing */
  }
  return undefined;
}

// ---- accuracy gate ------------------------------------------------------------------------

/**
 * The images the gate (and INT8 calibration) use: `--calib captures` = the user's own captures
 * (<dataDir>/captures/<id>/image.jpg, linked into <engineDir>/calib-images/), or a folder of images.
 * Returns undefined when `calib` names a calibration.cache file or a folder without images.
 */
export function calibrationImages(calib: string | undefined, dataDir: string, engineDir: string): string | undefined {
  if (!calib) return undefined;
  if (calib === 'captures') {
    const capturesDir = path.join(dataDir, 'captures');
    const ids = fs.existsSync(capturesDir)
      ? fs
          .readdirSync(capturesDir)
          .filter((id) => fs.existsSync(path.join(capturesDir, id, 'image.jpg')))
          .sort()
      : [];
    if (ids.length === 0)
      throw new UsageError(`--calib captures: no captures in ${capturesDir}; save some frames from the kiosk first (the Capture button), or pass --calib DIR`);
    const dir = path.join(engineDir, 'calib-images');
    fs.mkdirSync(dir, { recursive: true });
    // links from an earlier run go (captures may have been deleted since); a calibration.cache made from them stays
    for (const f of fs.readdirSync(dir)) if (fs.lstatSync(path.join(dir, f)).isSymbolicLink()) fs.rmSync(path.join(dir, f));
    for (const id of ids) fs.symlinkSync(path.join(capturesDir, id, 'image.jpg'), path.join(dir, `${id}.jpg`));
    return dir;
  }
  try {
    if (fs.statSync(calib).isDirectory() && listImages(calib).length > 0) return calib;
  } catch {
    /* missing: calibCacheFrom says so */
  }
  return undefined;
}

/**
 * Runs `candidate` (loaded with `provider`) and the FP32 reference (the original ONNX on CPU) on
 * every image in valDir and measures their agreement (compare.ts: pooled IoU of the thresholded
 * masks; two empty masks agree).
 */
export async function evaluateAgreement(o: {
  reference: string;
  candidate: string;
  provider: string;
  modelFiles: ModelFiles;
  valDir: string;
  maxImages?: number;
  candidateLabel?: string;
}): Promise<{ iou: number; images: number; report: ComparisonReport }> {
  const ort = await import('onnxruntime-node');
  const m = o.modelFiles.manifest;
  const items = listComparisonImages(o.valDir).slice(0, o.maxImages ?? 500);
  const ref = await ort.InferenceSession.create(o.reference, { executionProviders: ['cpu'] });
  const cand = await ort.InferenceSession.create(o.candidate, { executionProviders: [o.provider] }).catch(async (e) => {
    await ref.release();
    throw e;
  });
  const asModel = (s: typeof ref, label: string): MaskModel => ({
    label,
    thresholdByte: thresholdByte(m.threshold),
    run: async (rgb, h, w) => (await s.run({ [m.input.name]: new ort.Tensor('uint8', rgb, [1, h, w, 3]) }))[m.output.name].data as Uint8Array,
  });
  try {
    const report = await compareOnImages({
      a: asModel(ref, 'FP32'),
      b: asModel(cand, o.candidateLabel ?? path.basename(o.candidate)),
      items,
      width: m.input.width,
      height: m.input.height,
    });
    return { iou: report.iou, images: report.images, report };
  } finally {
    await ref.release();
    await cand.release();
  }
}

// ---- the command --------------------------------------------------------------------------

export interface BuildEngineDeps {
  out?: Out;
  err?: Out;
  platform?: PlatformInfo;
}

/** Runs the command; config and model errors print their one line and exit 78, usage errors 64. */
export async function runBuildEngine(opts: Record<string, unknown>, deps: BuildEngineDeps): Promise<number> {
  // on the command line, a progress bar (a terminal) or a line every 10 s (trtexec takes minutes)
  const progress = deps.out ? undefined : startProgress({ label: 'build-engine', total: 1, unit: 'steps' });
  const out: Out = deps.out ?? ((l) => (progress ? progress.log(l) : process.stdout.write(l + '\n')));
  const err: Out = deps.err ?? ((l) => (progress ? progress.log(l, process.stderr) : process.stderr.write(l + '\n')));
  try {
    return await buildEngine(opts, out, err, deps, progress);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof ModelError) {
      err(e.message.split('\n')[0]);
      return 78;
    }
    if (e instanceof UsageError) {
      err(`build-engine: ${e.message} (see 'crackscope build-engine --help')`);
      return EX_USAGE;
    }
    err(`build-engine: ${(e as Error).message}`);
    return 1;
  } finally {
    progress?.stop();
  }
}

interface BuildEngineFlags {
  skipTrtexec?: boolean;
  engine?: string;
  int8?: boolean;
  calib?: string;
  val?: string;
  minIou?: string;
  trtexec?: string;
  workspaceMb?: number;
}

async function buildEngine(opts: Record<string, unknown>, out: Out, err: Out, deps: BuildEngineDeps, progress?: Progress): Promise<number> {
  const extra = opts as BuildEngineFlags;
  const config = configFromOptions(opts);
  const skip = extra.skipTrtexec === true;
  const int8 = extra.int8 === true;
  const precision: Precision = int8 ? 'int8' : 'fp16';
  const minIouRaw = extra.minIou ?? (config as unknown as Record<string, unknown>).int8MinIou ?? DEFAULT_MIN_IOU;
  const minIou = Number(minIouRaw);
  if (!Number.isFinite(minIou) || minIou <= 0 || minIou > 1) throw new UsageError(`--min-iou must be a number in (0, 1], got ${JSON.stringify(minIouRaw)}`);
  // the gate's images: --val, else the calibration images (captures or a folder)
  const calibImages = calibrationImages(extra.calib as string | undefined, config.dataDir, config.engineDir);
  const valDir = (extra.val as string | undefined) ?? calibImages;
  if (skip && typeof extra.engine !== 'string') throw new UsageError('--skip-trtexec needs --engine FILE (an engine built elsewhere, e.g. by trtexec by hand)');
  if (!skip && extra.engine !== undefined) throw new UsageError('--engine FILE goes with --skip-trtexec');
  if (int8 && !skip && !extra.calib)
    throw new UsageError('--int8 needs --calib DIR|captures (calibration images and their calibration.cache, or the cache file itself)');
  if (int8 && !valDir)
    throw new UsageError(
      '--int8 needs images to check it on: --calib DIR|captures with images, or --val DIR. INT8 is only kept when its masks agree with FP32',
    );

  const steps = [
    skip ? 'copy the given engine' : `trtexec ${PRECISION_LABEL[precision]} build`,
    'EPContext wrapper',
    ...(valDir && !skip ? ['accuracy gate'] : []),
    'engine key',
  ];
  let step = 0;
  const nextStep = () => progress?.update(step, steps[step++]);
  progress?.setTotal(steps.length);

  const modelFiles = resolveModel(config.modelsDir, config.model);
  const m = modelFiles.manifest;
  const bytes = fs.readFileSync(modelFiles.onnxPath);
  const modelSha = sha256File(modelFiles.onnxPath);
  const io = modelIo(modelFiles, bytes);
  const platform = deps.platform ?? detectPlatform();
  out(
    `model ${m.name} ${m.version} (${path.basename(modelFiles.onnxPath)}, sha256 ${modelSha.slice(0, 12)}…), live input ${io.staticShape.join('x')} uint8 NHWC, ${PRECISION_LABEL[precision]}`,
  );
  for (const w of io.warnings) out(`warning: ${w}`);
  out(
    `platform: GPU ${platform.gpu ? `${platform.gpu.name} (sm ${platform.gpu.computeCapability || '?'})` : 'none'}, TensorRT ${platform.tensorrtVersion ?? 'none'}`,
  );

  fs.mkdirSync(config.engineDir, { recursive: true });
  const base = engineBaseName(m.name, modelSha, m.input.height, m.input.width, precision);
  const engineFile = `${base}.engine`;
  const wrapperFile = `${base}_ctx.onnx`;
  const enginePath = path.join(config.engineDir, engineFile);
  const wrapperPath = path.join(config.engineDir, wrapperFile);
  const keyPath = keyPathFor(config.engineDir, base);
  // The old engine, wrapper and key stay usable until a new engine is ready; then the old key goes
  // first, so a half-finished replacement never leaves a key that vouches for it.
  const retireOldKey = () => fs.rmSync(keyPath, { force: true });

  let gpu = platform.gpu;
  let trtVersion = platform.tensorrtVersion;
  let builtWith: string;
  nextStep();
  if (skip) {
    const src = path.resolve(extra.engine as string);
    if (!fs.existsSync(src)) throw new UsageError(`--engine ${src}: no such file`);
    retireOldKey();
    if (path.resolve(src) !== path.resolve(enginePath)) {
      fs.copyFileSync(src, `${enginePath}.tmp-${process.pid}`);
      fs.renameSync(`${enginePath}.tmp-${process.pid}`, enginePath);
    }
    builtWith = `--skip-trtexec --engine ${src}`;
    out(`using the given engine ${src} (not built here; its key records this machine's GPU and TensorRT, or 'unknown')`);
  } else {
    const bin = findTrtexec(extra.trtexec as string | undefined);
    if (!bin) {
      err('build-engine: trtexec not found (JetPack puts it at /usr/src/tensorrt/bin/trtexec; install the tensorrt package, or pass --trtexec PATH)');
      return 1;
    }
    if (!gpu || !trtVersion) {
      err(`build-engine: cannot build here: ${platform.notes.join('; ')}`);
      return 1;
    }
    const calibCache = int8 ? calibCacheFrom(extra.calib as string) : undefined;
    if (int8 && !calibCache) {
      err(
        `build-engine: no INT8 calibration cache in ${extra.calib}. trtexec reads a TensorRT calibration cache, not images; make one from ${calibImages ? `the calibration images in ${calibImages} (CRACKSCOPE_CALIB_DIR=${calibImages})` : 'your calibration images'} with deploy/jetson/README.md "INT8 calibration" (polygraphy), put it there as calibration.cache, then pass --calib ${calibImages ?? 'DIR'}.`,
      );
      return 1;
    }
    const timingCache = path.join(config.engineDir, `timing-sm${gpu.computeCapability || 'x'}-trt${trtVersion}.cache`);
    const tmpEngine = `${enginePath}.tmp-${process.pid}`;
    const args = trtexecArgs({
      onnx: modelFiles.onnxPath,
      engineOut: tmpEngine,
      timingCache,
      precision,
      shapesArg: io.shapesArg,
      calibCache,
      workspaceMb: extra.workspaceMb,
      tensorrtVersion: trtVersion,
    });
    const t0 = Date.now();
    const r = await runTrtexec(bin, args, out);
    if (r.code !== 0 || !fs.existsSync(tmpEngine)) {
      fs.rmSync(tmpEngine, { force: true });
      const tail = r.log.trim().split('\n').slice(-15).join('\n');
      err(`build-engine: trtexec failed (exit ${r.code}). Last lines:\n${tail}`);
      if (/UINT8|data type/i.test(r.log))
        err(
          'build-engine: this TensorRT rejects the uint8 network input/output; TensorRT 8.6+ (JetPack 6) accepts uint8 I/O that goes straight into/out of a Cast. See deploy/jetson/README.md.',
        );
      return 1;
    }
    retireOldKey();
    fs.renameSync(tmpEngine, enginePath);
    const seen = parseTrtexecLog(r.log);
    if (seen.tensorrtVersion && seen.tensorrtVersion !== trtVersion) {
      err(
        `build-engine: trtexec reports TensorRT ${seen.tensorrtVersion} but the runtime library here is ${trtVersion}; the key records ${seen.tensorrtVersion}`,
      );
      trtVersion = seen.tensorrtVersion;
    }
    if (seen.computeCapability && gpu.computeCapability && seen.computeCapability !== gpu.computeCapability) {
      err(`build-engine: trtexec built for sm ${seen.computeCapability}, detected sm ${gpu.computeCapability}; the key records sm ${seen.computeCapability}`);
      gpu = { ...gpu, computeCapability: seen.computeCapability };
    }
    builtWith = `${path.basename(bin)} ${args.map((a) => a.replace(config.engineDir + '/', '')).join(' ')}`;
    out(`engine built in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${enginePath}`);
  }

  nextStep();
  const engineSha = sha256File(enginePath);
  const engineBytes = fs.statSync(enginePath).size;
  const wrapper = buildEpContextModel({
    engineFile,
    inputs: [io.input],
    outputs: [io.output],
    hardwareArchitecture: gpu?.computeCapability ?? '',
    sdkVersion: trtVersion ?? '',
    onnxModelFilename: path.basename(modelFiles.onnxPath),
    partitionName: `crackscope_${m.name.replace(/[^\w]+/g, '_')}_${precision}`,
    irVersion: io.irVersion,
    opsetVersion: io.opsetVersion,
    notes: `crackscope ${precision} engine for ${m.name} ${m.version} sha256:${modelSha}`,
    metadata: { 'crackscope.model_sha256': modelSha, 'crackscope.precision': precision, 'crackscope.engine_sha256': engineSha },
  });
  writeFileAtomicSync(wrapperPath, wrapper);

  let accuracy: EngineKey['accuracy'];
  if (valDir && !skip) {
    nextStep();
    out(`accuracy gate: ${PRECISION_LABEL[precision]} vs FP32 on ${valDir} (IoU at threshold ${m.threshold}, must be ≥ ${minIou})`);
    const r = await evaluateAgreement({
      reference: modelFiles.onnxPath,
      candidate: wrapperPath,
      provider: 'tensorrt',
      modelFiles,
      valDir,
      candidateLabel: PRECISION_LABEL[precision],
    });
    for (const l of describeReport(r.report)) out(`  ${l}`);
    let fp16Note = '';
    if (precision === 'int8') {
      const fp16Wrapper = path.join(config.engineDir, `${engineBaseName(m.name, modelSha, m.input.height, m.input.width, 'fp16')}_ctx.onnx`);
      if (fs.existsSync(fp16Wrapper)) {
        try {
          const f = await evaluateAgreement({ reference: modelFiles.onnxPath, candidate: fp16Wrapper, provider: 'tensorrt', modelFiles, valDir });
          fp16Note = `; FP16 IoU vs FP32 = ${f.iou.toFixed(4)}`;
        } catch (e) {
          fp16Note = `; FP16 not measured (${(e as Error).message})`;
        }
      } else fp16Note = '; FP16 not measured (no FP16 engine built yet)';
    }
    accuracy = { metric: 'iou', value: r.iou, threshold: minIou, images: r.images, against: 'fp32' };
    if (r.iou < minIou) {
      fs.rmSync(enginePath, { force: true });
      fs.rmSync(wrapperPath, { force: true });
      err(
        `build-engine: REFUSED ${PRECISION_LABEL[precision]}: IoU vs FP32 = ${r.iou.toFixed(4)} < required ${minIou} on ${r.images} images (worst ${r.report.worst?.image}: ${r.report.worst?.iou.toFixed(4)})${fp16Note}. The engine was deleted.`,
      );
      return 1;
    }
    out(`accuracy gate passed: ${PRECISION_LABEL[precision]} IoU vs FP32 = ${r.iou.toFixed(4)} ≥ ${minIou} on ${r.images} images${fp16Note}`);
  } else if (valDir && skip) {
    out('accuracy gate skipped: --skip-trtexec engines are not run here');
  }
  if (precision === 'int8' && !accuracy && !skip) throw new Error('internal: INT8 without an accuracy result');

  nextStep();
  const key: EngineKey = {
    format: 'crackscope-engine-key/1',
    model: { name: m.name, version: m.version, sha256: modelSha, file: path.basename(modelFiles.onnxPath) },
    input: { name: io.input.name, height: m.input.height, width: m.input.width, shape: io.staticShape, dtype: 'uint8' },
    output: { name: io.output.name },
    precision,
    gpu: { name: gpu?.name ?? 'unknown', computeCapability: gpu?.computeCapability ?? '' },
    tensorrt: { version: trtVersion ?? 'unknown' },
    engine: { file: engineFile, bytes: engineBytes, sha256: engineSha },
    wrapper: { file: wrapperFile },
    builtAt: new Date().toISOString(),
    builtWith,
    ...(accuracy ? { accuracy } : {}),
    ...(skip ? { stub: !gpu || !trtVersion } : {}),
  };
  writeFileAtomicSync(keyPath, JSON.stringify(key, null, 2) + '\n');
  progress?.update(steps.length);
  out(`wrote ${wrapperPath}`);
  out(`wrote ${keyPath}`);
  if (key.stub) out('note: no GPU/TensorRT here, so the key is marked stub: the service will not load this engine (it says so in its log and /healthz).');
  return 0;
}

/** For tests and tools: is trtexec runnable here at all? */
export function trtexecVersion(bin: string): string | undefined {
  try {
    return parseTrtexecLog(execFileSync(bin, ['--help'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] })).tensorrtVersion;
  } catch {
    return undefined;
  }
}
