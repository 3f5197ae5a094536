// `crackscope compare <modelA> <modelB> <image-folder> [label-folder]`: the acceptance gate
// (server/inference/gate.ts) on the command line. Runs both models on every image, prints their
// agreement (IoU and F1 of the thresholded masks, per image and pooled) and, with labels, each
// model's F1 against them; exits 1 when B falls below the limits. build-engine applies the same
// gate to FP16/INT8 engines against FP32.
//
//   --min-iou X       pooled IoU of B with A must be ≥ X (default 0.9)
//   --max-f1-drop X   with labels: B's F1 may be at most X below A's (default 0.02)
//   --providers-b P   execution providers for B (default: the config's providers)
//   --json            one JSON object on the last line of stdout
//
// Exit codes: 0 accepted, 1 refused (below a limit), 64 usage, 78 config/model error.
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { UsageError } from './program.js';
import { ModelError, resolveModel, type ModelFiles } from '../inference/manifest.js';
import {
  compareOnImages,
  describeReport,
  GateInputError,
  judge,
  listComparisonImages,
  sessionMaskModel,
  type ComparisonReport,
  type GateLimits,
} from '../inference/gate.js';

export interface CompareOptions {
  minIou: number;
  maxF1Drop: number;
  providersB?: Config['providers'];
  json: boolean;
  maxImages?: number;
}

/** `crackscope compare` (commands/compare.ts parses the command line). */
export async function runCompare(
  positional: string[],
  o: CompareOptions,
  config: Config,
  out = (l: string) => process.stdout.write(l + '\n'),
): Promise<number> {
  const [nameA, nameB, folder, labels] = positional;
  const limits: GateLimits = { minIou: o.minIou, maxF1Drop: o.maxF1Drop };
  let items;
  try {
    items = listComparisonImages(folder, labels).slice(0, o.maxImages);
  } catch (err) {
    throw err instanceof GateInputError ? new UsageError(err.message) : err;
  }
  const fa = resolveModel(config.modelsDir, nameA);
  const fb = resolveModel(config.modelsDir, nameB);
  const ia = fa.manifest.input,
    ib = fb.manifest.input;
  if (ia.height !== ib.height || ia.width !== ib.width)
    throw new ModelError(
      `model error: ${fb.manifestPath}: input ${ib.height}x${ib.width} differs from ${fa.manifestPath}'s ${ia.height}x${ia.width}; compare needs the same input size`,
    );
  const labelOf = (f: ModelFiles) => `${f.manifest.name}@${f.manifest.version}`;
  const A = await sessionMaskModel(fa, config.providers, config, labelOf(fa));
  const B = await sessionMaskModel(
    fb,
    o.providersB ?? config.providers,
    config,
    labelOf(fb) === labelOf(fa) ? `${labelOf(fb)} (${path.basename(fb.onnxPath)})` : labelOf(fb),
  ).catch(async (e) => {
    await A.session.release();
    throw e;
  });
  let report: ComparisonReport;
  try {
    out(
      `A = ${A.model.label} on ${A.session.providerLabel}, B = ${B.model.label} on ${B.session.providerLabel}; ${items.length} images${labels ? `, labels in ${labels}` : ''}`,
    );
    report = await compareOnImages({
      a: A.model,
      b: B.model,
      items,
      width: ia.width,
      height: ia.height,
      onImage: (r) =>
        out(
          `  ${r.image}: IoU ${r.iou.toFixed(4)} F1 ${r.f1.toFixed(4)}${r.labelF1 ? `  vs label: A ${r.labelF1.a.toFixed(4)} B ${r.labelF1.b.toFixed(4)}` : ''}`,
        ),
    });
  } finally {
    await A.session.release();
    await B.session.release();
  }
  for (const l of describeReport(report)) out(l);
  const verdict = judge(report, limits);
  out(
    verdict.accepted
      ? `ACCEPTED: ${report.b} (IoU ≥ ${limits.minIou}${report.labels ? `, F1 drop ≤ ${limits.maxF1Drop}` : ''})`
      : `REFUSED: ${verdict.reasons.join('; ')}`,
  );
  if (o.json) out(JSON.stringify({ ...report, limits, accepted: verdict.accepted, reasons: verdict.reasons }));
  return verdict.accepted ? 0 : 1;
}
