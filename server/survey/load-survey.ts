// A survey folder read back (survey.json + crackmap.geojson) as the branches survey-diff compares:
// used by `crackscope survey-diff` (server/cli/survey-diff.ts) and the campaign's comparisons.
import fs from 'node:fs';
import path from 'node:path';
import type { MapBranch } from './diff.js';
import { oneLine } from '../log/one-line.js';

export interface Loaded {
  dir: string;
  name: string;
  summary: any;
  branches: MapBranch[];
}

export function loadSurvey(arg: string, surveyDir: string): Loaded {
  const dir = fs.existsSync(path.join(arg, 'survey.json')) ? arg : path.join(surveyDir, arg);
  let summary: any, geo: any;
  try {
    summary = JSON.parse(fs.readFileSync(path.join(dir, 'survey.json'), 'utf8'));
    geo = JSON.parse(fs.readFileSync(path.join(dir, 'crackmap.geojson'), 'utf8'));
  } catch (err) {
    throw new Error(`${arg}: not a survey folder (${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no survey.json / crackmap.geojson' : oneLine(err)})`);
  }
  // GeoJSON coordinates are pixel centres (+0.5); back to the skeleton's pixel indices
  // bridged gaps (`inferred`) belong to their crack for matching, but have no width
  const branches: MapBranch[] = geo.features.map((f: any) => ({
    id: String(f.properties.id),
    crack: f.properties.crack,
    line: f.geometry.coordinates.map(([x, y]: number[]) => [x - 0.5, y - 0.5]),
    mean_width_px: f.properties.mean_width_px ?? 0,
    max_width_px: f.properties.max_width_px ?? 0,
    length_px: f.properties.length_px,
    ...(f.properties.inferred ? { inferred: true } : {}),
  }));
  return { dir, name: path.basename(path.resolve(dir)), summary, branches };
}
