// Building a TensorRT engine for the live input size (static shape) on the device, the steps of
// `crackscope build-engine` (the command line is cli/build-engine.ts): the model's graph checked
// against its manifest → the engine built by trtexec (trtexec.ts), or one built elsewhere copied
// in → the EPContext wrapper ONNX Runtime's tensorrt provider loads (epcontext.ts) → the accuracy
// gate against FP32 (gate.ts, as `crackscope compare`) → the key JSON saying what the engine is
// valid for (engine-cache.ts). The old engine, wrapper and key stay usable until a new engine is
// ready; then the old key goes first, so a half-finished replacement never leaves a key that
// vouches for it.
import fs from 'node:fs';
import path from 'node:path';
import { listImages } from '../camera/image-folder.js';
import { writeFileAtomicSync } from '../storage/atomic.js';
import { thresholdByte } from './agreement.js';
import { engineBaseName, keyPathFor, sha256File, PRECISION_LABEL, type EngineKey, type Precision } from './engine-cache.js';
import { detectPlatform, type PlatformInfo } from './platform.js';
import { buildEpContextModel, dtypeName, ONNX_DTYPE, parseOnnxModel, type TensorInfo } from './epcontext.js';
import { compareOnImages, describeReport, GateInputError, listComparisonImages, type ComparisonReport, type MaskModel } from './gate.js';
import { ModelError, type ModelFiles } from './manifest.js';
import { tensorrtIoProblems } from './onnx-graph.js';
import { calibCacheFrom, findTrtexec, parseTrtexecLog, runTrtexec, trtexecArgs } from './trtexec.js';

type Out = (line: string) => void;

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

// ---- accuracy gate ------------------------------------------------------------------------

/**
 * The images the gate (and INT8 calibration) use: `--calib captures` = the user's own captures
 * (<dataDir>/captures/<id>/image.jpg, linked into <engineDir>/calib-images/), or a folder of images.
 * Returns undefined when `calib` names a calibration.cache file or a folder without images; throws
 * GateInputError when there are no captures.
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
      throw new GateInputError(
        `--calib captures: no captures in ${capturesDir}; save some frames from the kiosk first (the Capture button), or pass --calib DIR`,
      );
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
 * every image in valDir and measures their agreement (gate.ts: pooled IoU of the thresholded
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

// ---- the build ----------------------------------------------------------------------------

/** What to build, with the command line already checked (cli/build-engine.ts). */
export interface EngineBuildPlan {
  modelFiles: ModelFiles;
  engineDir: string;
  precision: Precision;
  /** an engine built elsewhere (--skip-trtexec --engine FILE), copied in instead of building one */
  givenEngine?: string;
  /** --calib: calibration images (a folder) with their calibration.cache, or the cache file itself */
  calib?: string;
  /** the calibration images found for --calib (calibrationImages), for the messages */
  calibImages?: string;
  /** the gate's images; no gate without them */
  valDir?: string;
  /** IoU with FP32 the engine must reach on valDir */
  minIou: number;
  /** --trtexec PATH */
  trtexec?: string;
  workspaceMb?: number;
  /** this machine's GPU and TensorRT (detected when absent) */
  platform?: PlatformInfo;
}

export interface EngineBuildIo {
  /** the build's own lines (stdout) */
  out: Out;
  /** why something failed or does not add up (stderr), one line each, prefixed `build-engine:` */
  err: Out;
  /** `done` of `total` steps finished; `step` names the one starting now */
  onProgress?: (done: number, total: number, step?: string) => void;
}

/** Where the engine, its wrapper and its key go (<engineDir>/<model>-<hash>-<H>x<W>-<precision>…). */
interface EngineTarget {
  base: string;
  engineFile: string;
  wrapperFile: string;
  enginePath: string;
  wrapperPath: string;
  keyPath: string;
}

/** The engine file is in place (built or copied): what made it and what it was made for. */
interface ObtainedEngine {
  builtWith: string;
  gpu: PlatformInfo['gpu'];
  trtVersion: string | undefined;
}

/** Builds (or takes in) the engine, wraps it, gates it and writes its key. True when an engine was kept. */
export async function buildEngine(plan: EngineBuildPlan, io: EngineBuildIo): Promise<boolean> {
  const { out } = io;
  const { modelFiles, precision } = plan;
  const m = modelFiles.manifest;
  const skip = plan.givenEngine !== undefined;
  const gated = plan.valDir !== undefined && !skip;
  const steps = [
    skip ? 'copy the given engine' : `trtexec ${PRECISION_LABEL[precision]} build`,
    'EPContext wrapper',
    ...(gated ? ['accuracy gate'] : []),
    'engine key',
  ];
  let step = 0;
  const nextStep = () => io.onProgress?.(step, steps.length, steps[step++]);

  // ---- resolve inputs: the graph against its manifest, this machine, the target paths ----
  const modelSha = sha256File(modelFiles.onnxPath);
  const mio = modelIo(modelFiles, fs.readFileSync(modelFiles.onnxPath));
  const platform = plan.platform ?? detectPlatform();
  out(
    `model ${m.name} ${m.version} (${path.basename(modelFiles.onnxPath)}, sha256 ${modelSha.slice(0, 12)}…), live input ${mio.staticShape.join('x')} uint8 NHWC, ${PRECISION_LABEL[precision]}`,
  );
  for (const w of mio.warnings) out(`warning: ${w}`);
  out(
    `platform: GPU ${platform.gpu ? `${platform.gpu.name} (sm ${platform.gpu.computeCapability || '?'})` : 'none'}, TensorRT ${platform.tensorrtVersion ?? 'none'}`,
  );
  fs.mkdirSync(plan.engineDir, { recursive: true });
  const target = engineTarget(plan.engineDir, m, modelSha, precision);

  // ---- build (or copy in) ----
  nextStep();
  const engine = skip ? copyGivenEngine(plan.givenEngine!, target, platform, out) : await buildWithTrtexec(plan, target, mio, platform, io);
  if (!engine) return false;

  // ---- wrap ----
  nextStep();
  const engineSha = sha256File(target.enginePath);
  const engineBytes = fs.statSync(target.enginePath).size;
  writeWrapper(target, mio, modelFiles, modelSha, engineSha, precision, engine);

  // ---- gate ----
  let accuracy: EngineKey['accuracy'];
  if (gated) {
    nextStep();
    const verdict = await accuracyGate(plan, target, modelSha, io);
    if (!verdict) return false;
    accuracy = verdict;
  } else if (plan.valDir && skip) {
    out('accuracy gate skipped: --skip-trtexec engines are not run here');
  }
  if (precision === 'int8' && !accuracy && !skip) throw new Error('internal: INT8 without an accuracy result');

  // ---- write the key ----
  nextStep();
  const { gpu, trtVersion } = engine;
  const key: EngineKey = {
    format: 'crackscope-engine-key/1',
    model: { name: m.name, version: m.version, sha256: modelSha, file: path.basename(modelFiles.onnxPath) },
    input: { name: mio.input.name, height: m.input.height, width: m.input.width, shape: mio.staticShape, dtype: 'uint8' },
    output: { name: mio.output.name },
    precision,
    gpu: { name: gpu?.name ?? 'unknown', computeCapability: gpu?.computeCapability ?? '' },
    tensorrt: { version: trtVersion ?? 'unknown' },
    engine: { file: target.engineFile, bytes: engineBytes, sha256: engineSha },
    wrapper: { file: target.wrapperFile },
    builtAt: new Date().toISOString(),
    builtWith: engine.builtWith,
    ...(accuracy ? { accuracy } : {}),
    ...(skip ? { stub: !gpu || !trtVersion } : {}),
  };
  writeFileAtomicSync(target.keyPath, JSON.stringify(key, null, 2) + '\n');
  io.onProgress?.(steps.length, steps.length);
  out(`wrote ${target.wrapperPath}`);
  out(`wrote ${target.keyPath}`);
  if (key.stub) out('note: no GPU/TensorRT here, so the key is marked stub: the service will not load this engine (it says so in its log and /healthz).');
  return true;
}

function engineTarget(engineDir: string, m: ModelFiles['manifest'], modelSha: string, precision: Precision): EngineTarget {
  const base = engineBaseName(m.name, modelSha, m.input.height, m.input.width, precision);
  const engineFile = `${base}.engine`;
  const wrapperFile = `${base}_ctx.onnx`;
  return {
    base,
    engineFile,
    wrapperFile,
    enginePath: path.join(engineDir, engineFile),
    wrapperPath: path.join(engineDir, wrapperFile),
    keyPath: keyPathFor(engineDir, base),
  };
}

/** The old key goes before its engine is replaced: a half-finished replacement never has a key vouching for it. */
const retireOldKey = (t: EngineTarget) => fs.rmSync(t.keyPath, { force: true });

/** `--skip-trtexec --engine FILE`: an engine built elsewhere, copied into place; its key records this machine. */
function copyGivenEngine(given: string, t: EngineTarget, platform: PlatformInfo, out: Out): ObtainedEngine {
  const src = path.resolve(given);
  retireOldKey(t);
  if (src !== path.resolve(t.enginePath)) {
    fs.copyFileSync(src, `${t.enginePath}.tmp-${process.pid}`);
    fs.renameSync(`${t.enginePath}.tmp-${process.pid}`, t.enginePath);
  }
  out(`using the given engine ${src} (not built here; its key records this machine's GPU and TensorRT, or 'unknown')`);
  return { builtWith: `--skip-trtexec --engine ${src}`, gpu: platform.gpu, trtVersion: platform.tensorrtVersion };
}

/** trtexec builds the engine into a temporary file, renamed into place when it succeeded; null (with the reason on err) when not. */
async function buildWithTrtexec(
  plan: EngineBuildPlan,
  t: EngineTarget,
  mio: ModelIo,
  platform: PlatformInfo,
  io: EngineBuildIo,
): Promise<ObtainedEngine | null> {
  const { out, err } = io;
  let gpu = platform.gpu;
  let trtVersion = platform.tensorrtVersion;
  const bin = findTrtexec(plan.trtexec);
  if (!bin) {
    err('build-engine: trtexec not found (JetPack puts it at /usr/src/tensorrt/bin/trtexec; install the tensorrt package, or pass --trtexec PATH)');
    return null;
  }
  if (!gpu || !trtVersion) {
    err(`build-engine: cannot build here: ${platform.notes.join('; ')}`);
    return null;
  }
  const int8 = plan.precision === 'int8';
  const calibCache = int8 ? calibCacheFrom(plan.calib) : undefined;
  if (int8 && !calibCache) {
    err(
      `build-engine: no INT8 calibration cache in ${plan.calib}. trtexec reads a TensorRT calibration cache, not images; make one from ${plan.calibImages ? `the calibration images in ${plan.calibImages} (CRACKSCOPE_CALIB_DIR=${plan.calibImages})` : 'your calibration images'} with deploy/jetson/README.md "INT8 calibration" (polygraphy), put it there as calibration.cache, then pass --calib ${plan.calibImages ?? 'DIR'}.`,
    );
    return null;
  }
  const timingCache = path.join(plan.engineDir, `timing-sm${gpu.computeCapability || 'x'}-trt${trtVersion}.cache`);
  const tmpEngine = `${t.enginePath}.tmp-${process.pid}`;
  const args = trtexecArgs({
    onnx: plan.modelFiles.onnxPath,
    engineOut: tmpEngine,
    timingCache,
    precision: plan.precision,
    shapesArg: mio.shapesArg,
    calibCache,
    workspaceMb: plan.workspaceMb,
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
    return null;
  }
  retireOldKey(t);
  fs.renameSync(tmpEngine, t.enginePath);
  // what trtexec says about itself wins over what was detected: the key must describe the engine
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
  out(`engine built in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${t.enginePath}`);
  return { builtWith: `${path.basename(bin)} ${args.map((a) => a.replace(plan.engineDir + '/', '')).join(' ')}`, gpu, trtVersion };
}

/** The EPContext wrapper: a one-node ONNX model naming the engine file, which ONNX Runtime's tensorrt provider loads. */
function writeWrapper(t: EngineTarget, mio: ModelIo, modelFiles: ModelFiles, modelSha: string, engineSha: string, precision: Precision, e: ObtainedEngine) {
  const m = modelFiles.manifest;
  const wrapper = buildEpContextModel({
    engineFile: t.engineFile,
    inputs: [mio.input],
    outputs: [mio.output],
    hardwareArchitecture: e.gpu?.computeCapability ?? '',
    sdkVersion: e.trtVersion ?? '',
    onnxModelFilename: path.basename(modelFiles.onnxPath),
    partitionName: `crackscope_${m.name.replace(/[^\w]+/g, '_')}_${precision}`,
    irVersion: mio.irVersion,
    opsetVersion: mio.opsetVersion,
    notes: `crackscope ${precision} engine for ${m.name} ${m.version} sha256:${modelSha}`,
    metadata: { 'crackscope.model_sha256': modelSha, 'crackscope.precision': precision, 'crackscope.engine_sha256': engineSha },
  });
  writeFileAtomicSync(t.wrapperPath, wrapper);
}

/**
 * The engine (through its wrapper) against FP32 on the gate images. Below minIou the engine and
 * wrapper are deleted and the refusal said on err: null. For INT8, the FP16 engine's figure (when
 * there is one) is given beside it.
 */
async function accuracyGate(plan: EngineBuildPlan, t: EngineTarget, modelSha: string, io: EngineBuildIo): Promise<EngineKey['accuracy'] | null> {
  const { out, err } = io;
  const { modelFiles, precision, minIou } = plan;
  const m = modelFiles.manifest;
  const valDir = plan.valDir!;
  out(`accuracy gate: ${PRECISION_LABEL[precision]} vs FP32 on ${valDir} (IoU at threshold ${m.threshold}, must be ≥ ${minIou})`);
  const r = await evaluateAgreement({
    reference: modelFiles.onnxPath,
    candidate: t.wrapperPath,
    provider: 'tensorrt',
    modelFiles,
    valDir,
    candidateLabel: PRECISION_LABEL[precision],
  });
  for (const l of describeReport(r.report)) out(`  ${l}`);
  let fp16Note = '';
  if (precision === 'int8') {
    const fp16Wrapper = path.join(plan.engineDir, `${engineBaseName(m.name, modelSha, m.input.height, m.input.width, 'fp16')}_ctx.onnx`);
    if (fs.existsSync(fp16Wrapper)) {
      try {
        const f = await evaluateAgreement({ reference: modelFiles.onnxPath, candidate: fp16Wrapper, provider: 'tensorrt', modelFiles, valDir });
        fp16Note = `; FP16 IoU vs FP32 = ${f.iou.toFixed(4)}`;
      } catch (e) {
        fp16Note = `; FP16 not measured (${(e as Error).message})`;
      }
    } else fp16Note = '; FP16 not measured (no FP16 engine built yet)';
  }
  if (r.iou < minIou) {
    fs.rmSync(t.enginePath, { force: true });
    fs.rmSync(t.wrapperPath, { force: true });
    err(
      `build-engine: REFUSED ${PRECISION_LABEL[precision]}: IoU vs FP32 = ${r.iou.toFixed(4)} < required ${minIou} on ${r.images} images (worst ${r.report.worst?.image}: ${r.report.worst?.iou.toFixed(4)})${fp16Note}. The engine was deleted.`,
    );
    return null;
  }
  out(`accuracy gate passed: ${PRECISION_LABEL[precision]} IoU vs FP32 = ${r.iou.toFixed(4)} ≥ ${minIou} on ${r.images} images${fp16Note}`);
  return { metric: 'iou', value: r.iou, threshold: minIou, images: r.images, against: 'fp32' };
}
