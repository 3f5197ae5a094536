// A re-run campaign against its base: per image, the crack maps compared with survey-diff's
// comparison (server/survey/diff.ts) with the identity as alignment (the same photograph), and
// the two masks' pixel agreement (IoU, F1) counted as `crackscope compare` counts it
// (server/inference/agreement.ts). "added": cracks of the new model that the old one did not
// find; "lost": the old model's cracks the new one does not find; "changed": cracks found by both
// but longer (at a tip) or wider in the new map.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { agreementOf, thresholdByte } from '../inference/agreement.js';
import { loadSurvey } from '../survey/load-survey.js';
import { diffMaps } from '../survey/diff.js';

export interface ImageComparison {
  name: string;
  cracks_base: number;
  cracks_new: number;
  added: number;
  lost: number;
  changed: number;
  longer: number;
  wider: number;
  length_base_px: number;
  length_new_px: number;
  iou: number;
  f1: number;
}

export interface CampaignComparison {
  base: string;
  campaign: string;
  model_base: string;
  model_new: string;
  images: ImageComparison[];
  missing: string[];
  totals: { added: number; lost: number; changed: number; cracks_base: number; cracks_new: number; iou_pooled: number; f1_pooled: number };
}

const IDENTITY = { a: 1, b: 0, tx: 0, ty: 0 };

async function maskCounts(a: string, ta: number, b: string, tb: number) {
  const [ma, mb] = await Promise.all([
    sharp(a, { limitInputPixels: false }).extractChannel(0).raw().toBuffer(),
    sharp(b, { limitInputPixels: false }).extractChannel(0).raw().toBuffer(),
  ]);
  if (ma.length !== mb.length) throw new Error('the two masks differ in size');
  const ca = thresholdByte(ta),
    cb = thresholdByte(tb);
  let na = 0,
    nb = 0,
    both = 0;
  for (let i = 0; i < ma.length; i++) {
    const x = ma[i] >= ca,
      y = mb[i] >= cb;
    if (x) na++;
    if (y) nb++;
    if (x && y) both++;
  }
  return { a: na, b: nb, both };
}

export async function compareCampaignOutputs(
  base: { name: string; dir: string; model: string },
  next: { name: string; dir: string; model: string },
  names: string[],
): Promise<CampaignComparison> {
  const images: ImageComparison[] = [];
  const missing: string[] = [];
  const pooled = { a: 0, b: 0, both: 0 };
  for (const name of names) {
    const da = path.join(base.dir, name),
      db = path.join(next.dir, name);
    if (!fs.existsSync(path.join(da, 'survey.json')) || !fs.existsSync(path.join(db, 'survey.json'))) {
      missing.push(name);
      continue;
    }
    const A = loadSurvey(da, base.dir),
      B = loadSurvey(db, next.dir);
    const size = { width: A.summary.input.width, height: A.summary.input.height };
    const r = diffMaps(A.branches, B.branches, IDENTITY, { sizeA: size, sizeB: size });
    const c = await maskCounts(path.join(da, 'mask.tif'), A.summary.threshold, path.join(db, 'mask.tif'), B.summary.threshold);
    pooled.a += c.a;
    pooled.b += c.b;
    pooled.both += c.both;
    const ag = agreementOf(c);
    const longer = r.changes.filter((x) => x.kind === 'longer').length,
      wider = r.changes.filter((x) => x.kind === 'wider').length;
    const changedCracks = new Set(r.changes.filter((x) => x.kind === 'longer' || x.kind === 'wider').map((x) => x.crack_b)).size;
    images.push({
      name,
      cracks_base: A.summary.totals.cracks,
      cracks_new: B.summary.totals.cracks,
      added: r.changes.filter((x) => x.kind === 'new').length,
      lost: r.not_found_in_b.length,
      changed: changedCracks,
      longer,
      wider,
      length_base_px: A.summary.totals.length_px,
      length_new_px: B.summary.totals.length_px,
      iou: Math.round(ag.iou * 10000) / 10000,
      f1: Math.round(ag.f1 * 10000) / 10000,
    });
  }
  const ag = agreementOf(pooled);
  const sum = (k: keyof ImageComparison) => images.reduce((s, im) => s + (im[k] as number), 0);
  return {
    base: base.name,
    campaign: next.name,
    model_base: base.model,
    model_new: next.model,
    images,
    missing,
    totals: {
      added: sum('added'),
      lost: sum('lost'),
      changed: sum('changed'),
      cracks_base: sum('cracks_base'),
      cracks_new: sum('cracks_new'),
      iou_pooled: Math.round(ag.iou * 10000) / 10000,
      f1_pooled: Math.round(ag.f1 * 10000) / 10000,
    },
  };
}
