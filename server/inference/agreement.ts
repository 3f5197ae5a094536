// How far two crack masks agree: IoU and F1 (Dice) of the thresholded masks. The pixel counting runs
// in a small ONNX graph on onnxruntime's CPU provider (one thread), not in a JavaScript loop: it is
// used on every frame of a comparison, by shadow mode, by `crackscope compare` and by build-engine's
// accuracy gate, so all of them count the same way.
import * as ort from 'onnxruntime-node';
import { ONNX_DTYPE } from './epcontext.js';
import { intAttr, onnxModel, onnxNode as node, valueInfo } from './onnx-graph.js';

/** Pixel counts of two masks a and b (each thresholded at its own level). */
export interface MaskCounts {
  /** pixels on in a */
  a: number;
  /** pixels on in b */
  b: number;
  /** pixels on in both */
  both: number;
}

export interface Agreement {
  /** |a∩b| / |a∪b|; 1 when both are empty */
  iou: number;
  /** 2|a∩b| / (|a|+|b|) (Dice; precision and recall of b against a); 1 when both are empty */
  f1: number;
}

export function agreementOf(c: MaskCounts): Agreement {
  const union = c.a + c.b - c.both;
  return { iou: union === 0 ? 1 : c.both / union, f1: c.a + c.b === 0 ? 1 : (2 * c.both) / (c.a + c.b) };
}

export function addCounts(into: MaskCounts, c: MaskCounts): MaskCounts {
  into.a += c.a;
  into.b += c.b;
  into.both += c.both;
  return into;
}

/** A mask value v counts as crack when v >= thresholdByte(manifest threshold). */
export const thresholdByte = (threshold: number) => Math.round(threshold * 255);

/**
 * The counting graph: inputs a, b (uint8, any length), ta, tb (float [1], thresholds in mask units);
 * output counts (float [3]) = [on in a, on in b, on in both]. Float sums are exact up to 2^24 pixels.
 */
export function agreementOnnx(): Buffer {
  const nodes = [];
  for (const x of ['a', 'b']) {
    nodes.push(node('Cast', [x], [`${x}f`], [intAttr('to', ONNX_DTYPE.float32)]));
    nodes.push(node('GreaterOrEqual', [`${x}f`, `t${x}`], [`${x}on`]));
  }
  nodes.push(node('And', ['aon', 'bon'], ['bothon']));
  for (const x of ['a', 'b', 'both']) {
    nodes.push(node('Cast', [`${x}on`], [`${x}n`], [intAttr('to', ONNX_DTYPE.float32)]));
    nodes.push(node('ReduceSum', [`${x}n`], [`${x}s`], [intAttr('keepdims', 1)]));
  }
  nodes.push(node('Concat', ['as', 'bs', 'boths'], ['counts'], [intAttr('axis', 0)]));
  return onnxModel(
    'crackscope-agreement',
    nodes,
    [
      valueInfo('a', ONNX_DTYPE.uint8, ['n']),
      valueInfo('b', ONNX_DTYPE.uint8, ['n']),
      valueInfo('ta', ONNX_DTYPE.float32, [1]),
      valueInfo('tb', ONNX_DTYPE.float32, [1]),
    ],
    valueInfo('counts', ONNX_DTYPE.float32, [3]),
  );
}

/** Counts masks against each other; one small session, reused. */
export class MaskComparer {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(): Promise<MaskComparer> {
    const session = await ort.InferenceSession.create(agreementOnnx(), {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    return new MaskComparer(session);
  }

  /** a ≥ ta and b ≥ tb (thresholds 0..255), counted. The masks must have the same length. */
  async counts(a: Uint8Array, b: Uint8Array, ta: number, tb: number): Promise<MaskCounts> {
    if (a.length !== b.length) throw new Error(`masks differ in size: ${a.length} vs ${b.length} pixels`);
    const out = await this.session.run({
      a: new ort.Tensor('uint8', a, [a.length]),
      b: new ort.Tensor('uint8', b, [b.length]),
      ta: new ort.Tensor('float32', Float32Array.of(ta), [1]),
      tb: new ort.Tensor('float32', Float32Array.of(tb), [1]),
    });
    const c = out.counts.data as Float32Array;
    return { a: c[0], b: c[1], both: c[2] };
  }

  async agreement(a: Uint8Array, b: Uint8Array, ta: number, tb: number): Promise<Agreement & MaskCounts> {
    const c = await this.counts(a, b, ta, tb);
    return { ...c, ...agreementOf(c) };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
