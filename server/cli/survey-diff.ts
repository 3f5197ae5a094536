// `crackscope survey-diff A B [--out DIR] [--points FILE] [--tolerance-px N] [--json] [--no-pdf]` (commands/survey-diff.ts)
// A and B are survey folders (or names in config.surveyDir), A the earlier. Aligns B to A (feature
// matching, or the point pairs in FILE), reports cracks that are new, longer or wider, and writes
// diff.json, diff.geojson, diff.svg, report.html (+ report.pdf) atomically into one folder.
import fs from 'node:fs';
import path from 'node:path';
import { configFromOptions } from './config-options.js';
import { alignByFeatures, alignByPoints, refineOnCracks, type Alignment } from '../survey/align.js';
import { diffMaps } from '../survey/diff.js';
import { loadSurvey, type Loaded } from '../survey/load-survey.js';
import { diffGeoJson, diffHtml, diffSvg } from '../survey/diff-report.js';
import { printPdf } from '../survey/report.js';
import { oneLine } from '../log/one-line.js';

export async function runSurveyDiff(positional: string[], opts: Record<string, unknown>): Promise<number> {
  // the values are checked by the spec's parsers (commands/survey-diff.ts)
  const extra = opts as { out?: string; points?: string; tolerancePx?: number; pdf?: boolean; json?: boolean };
  const config = configFromOptions(opts);
  const tol = extra.tolerancePx ?? 6;
  let a: Loaded, b: Loaded;
  try {
    a = loadSurvey(positional[0], config.surveyDir);
    b = loadSurvey(positional[1], config.surveyDir);
  } catch (err) {
    process.stderr.write(`crackscope survey-diff: ${oneLine(err)}\n`);
    return 1;
  }

  let alignment: Alignment;
  try {
    if (extra.points !== undefined) {
      alignment = alignByPoints(JSON.parse(fs.readFileSync(extra.points, 'utf8')));
    } else {
      alignment = await alignByFeatures(
        { overview: path.join(a.dir, 'overview.jpg'), width: a.summary.input.width },
        { overview: path.join(b.dir, 'overview.jpg'), width: b.summary.input.width },
      );
      const r = refineOnCracks(
        alignment.transform,
        a.branches.map((x) => x.line),
        b.branches.map((x) => x.line),
      );
      if (r.pairs >= 10) {
        alignment.transform = r.transform;
        alignment.refined = { pairs: r.pairs, rms_px: r.rms_px };
      }
    }
  } catch (err) {
    process.stderr.write(`crackscope survey-diff: cannot align ${b.name} to ${a.name}: ${oneLine(err)}\n`);
    return 1;
  }
  const result = diffMaps(a.branches, b.branches, alignment.transform, {
    tolerancePx: tol,
    sizeA: { width: a.summary.input.width, height: a.summary.input.height },
    sizeB: { width: b.summary.input.width, height: b.summary.input.height },
  });
  const mmPerPx: number | null = a.summary.calibration?.mmPerPx ?? null;
  const created = new Date().toISOString();
  const W = a.summary.input.width,
    H = a.summary.input.height;

  const outDir = path.resolve(extra.out !== undefined ? extra.out : path.join(config.surveyDir, `diff-${a.name}-vs-${b.name}`));
  const parent = path.dirname(outDir);
  fs.mkdirSync(parent, { recursive: true });
  const work = fs.mkdtempSync(path.join(parent, `.${path.basename(outDir)}.partial-`));
  const doc = {
    a: { name: a.name, sha256: a.summary.input.sha256, created: a.summary.created, width: W, height: H },
    b: { name: b.name, sha256: b.summary.input.sha256, created: b.summary.created, width: b.summary.input.width, height: b.summary.input.height },
    created,
    tolerance_px: tol,
    mm_per_px: mmPerPx,
    alignment,
    counts: {
      new: result.changes.filter((c) => c.kind === 'new').length,
      longer: result.changes.filter((c) => c.kind === 'longer').length,
      wider: result.changes.filter((c) => c.kind === 'wider').length,
    },
    joined: result.changes.filter((c) => c.kind === 'joined').length,
    matched_cracks: result.matched_cracks,
    not_found_in_b: result.not_found_in_b,
    not_found_length_px: Math.round(result.not_found_length_px * 100) / 100,
    changes: result.changes.map(({ lines: _l, ...c }) => c),
  };
  try {
    fs.writeFileSync(path.join(work, 'diff.json'), JSON.stringify(doc, null, 2) + '\n');
    fs.writeFileSync(path.join(work, 'diff.geojson'), JSON.stringify(diffGeoJson(result, mmPerPx, { a: a.name, b: b.name, created })) + '\n');
    fs.writeFileSync(path.join(work, 'diff.svg'), diffSvg(W, H, a.branches, result, undefined, Math.max(W, H) / 1500));
    const ov = fs.readFileSync(path.join(a.dir, 'overview.jpg')).toString('base64');
    const html = diffHtml({
      a: a.name,
      b: b.name,
      created,
      alignment,
      result,
      mmPerPx,
      tolerancePx: tol,
      svg: diffSvg(W, H, a.branches, result, `data:image/jpeg;base64,${ov}`, Math.max(W, H) / 600),
    });
    fs.writeFileSync(path.join(work, 'report.html'), html);
    if (extra.pdf !== false) {
      try {
        await printPdf(html, path.join(work, 'report.pdf'), process.env.CRACKSCOPE_CHROMIUM ?? '/usr/bin/chromium');
      } catch (err) {
        process.stderr.write(`crackscope survey-diff: no PDF: ${oneLine(err)}\n`);
      }
    }
    if (fs.existsSync(outDir)) fs.rmSync(outDir, { recursive: true, force: true });
    fs.renameSync(work, outDir);
  } catch (err) {
    fs.rmSync(work, { recursive: true, force: true });
    throw err;
  }
  const al = alignment;
  const line = `survey-diff ${a.name} → ${b.name}: aligned by ${al.method === 'feature-matching' ? 'feature matching' : 'point pairs'} (${al.inliers}/${al.matches}, rotation ${al.rotation_deg.toFixed(2)}°, scale ${al.scale.toFixed(4)}, shift ${al.transform.tx.toFixed(1)},${al.transform.ty.toFixed(1)} px${al.refined ? `, refined on cracks to ${al.refined.rms_px.toFixed(2)} px rms` : ''}); ${doc.counts.new} new, ${doc.counts.longer} longer, ${doc.counts.wider} wider -> ${outDir}`;
  if (extra.json) {
    process.stderr.write(line + '\n');
    process.stdout.write(JSON.stringify(doc) + '\n');
  } else process.stdout.write(line + '\n');
  return 0;
}
