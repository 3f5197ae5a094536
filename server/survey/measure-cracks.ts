// A survey's third step: the mask file thinned block by block into one skeleton for the whole
// image (crack-graph.ts), then traced into cracks with the crack identity analyzeMask uses
// (server/analysis/crack-graph.ts), so a crack is one crack across tile and block borders.
import { CONTINUE_RATIO, type AnalyzeOptions } from '../analysis/crack-measure.js';
import { IDENTITY_DEFAULTS, skeletonFromMask, traceCracks, type IdentitySettings, type TraceResult } from './crack-graph.js';
import type { RawMaskFile } from './mask-file.js';

export interface CrackIdentity {
  settings: IdentitySettings;
  /** the continue threshold is threshold × this */
  continueRatio: number;
}

/** The config's settings (as analyzeMask takes them), with --min-length-px over them. */
export function resolveIdentity(identity: Omit<AnalyzeOptions, 'threshold'> = {}, minLengthPx?: number): CrackIdentity {
  return {
    continueRatio: identity.continueRatio ?? CONTINUE_RATIO,
    settings: {
      minLengthPx: minLengthPx ?? identity.minLengthPx ?? IDENTITY_DEFAULTS.minLengthPx,
      maxGapPx: identity.maxGapPx ?? IDENTITY_DEFAULTS.maxGapPx,
      maxGapAngleDeg: identity.maxGapAngleDeg ?? IDENTITY_DEFAULTS.maxGapAngleDeg,
      bridgeMinProb: identity.bridgeMinProb ?? IDENTITY_DEFAULTS.bridgeMinProb,
      gapLateralWidths: identity.gapLateralWidths ?? IDENTITY_DEFAULTS.gapLateralWidths,
    },
  };
}

export interface MeasureOptions {
  /** the mask as inferTiles wrote it; closed here, whatever happens */
  maskFile: RawMaskFile;
  width: number;
  height: number;
  threshold: number;
  identity: CrackIdentity;
  signal?: AbortSignal;
  onBlock?: (done: number, total: number) => void;
}

export interface MeasuredCracks extends TraceResult {
  /** skeleton pixels of the whole image */
  crackPixels: number;
}

export async function measureCracks(opts: MeasureOptions): Promise<MeasuredCracks> {
  const { maskFile, identity } = opts;
  let skeleton;
  try {
    skeleton = await skeletonFromMask((y, rows) => maskFile.readRows(y, rows), opts.width, opts.height, {
      threshold: opts.threshold,
      continueThreshold: opts.threshold * identity.continueRatio,
      signal: opts.signal,
      onBlock: opts.onBlock,
    });
    // bridges sample the mask file
    const traced = traceCracks(skeleton, { ...identity.settings, probAt: (x, y) => maskFile.readAt(x, y) });
    return { ...traced, crackPixels: skeleton.crackPixels };
  } finally {
    maskFile.close();
  }
}
