// Issue 20: crack counts and lengths against real labelled photographs (bench/real-validate.ts,
// `npm run validate:real`). The photographs live beside the project (../shared/data/real), never in
// it: without them this file skips, saying so in one line. With them, a few photographs of each set
// go through the shipped model (the built `crackscope infer`) and the analysis, and the labels are
// counted and measured.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { describe, expect, test } from 'vitest';
import { realDataRoot } from '../bench/real-photos.js';

const root = path.join(import.meta.dirname, '..');
const REAL = realDataRoot(root);
if (!REAL) console.log(`real-validate: skipped, no labelled photographs at ${path.join(root, '..', 'shared', 'data', 'real')}`);

describe.skipIf(!REAL)('real labelled photographs (bench/real-validate.ts)', () => {
  test('counts and measures the labels of every set and scores the shipped model per set', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-real-'));
    try {
      const script = path.join(root, 'dist', 'bench', 'real-validate.mjs');
      buildSync({ entryPoints: [path.join(root, 'bench', 'real-validate.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'warning', outfile: script });
      const r = spawnSync(process.execPath, [script, '--limit', '6', '--cache', cache, '--threads', '1', '--json', path.join(cache, 'out.json')], { encoding: 'utf8', timeout: 240_000 });
      expect(r.status, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
      expect(Object.keys(summary.sets)).toEqual(['walls-crackseg', 'walls-supervisely', 'concrete-uav', 'pavement-sut']);
      const full = JSON.parse(fs.readFileSync(path.join(cache, 'out.json'), 'utf8'));
      for (const [name, s] of Object.entries<any>(full.sets)) {
        expect(s.photos, name).toBe(6);
        // every set's labels hold cracks (pieces of ≥ 20 px) with a centre line to measure
        expect(s.per_photo.filter((p: any) => p.label_count > 0).length, name).toBeGreaterThanOrEqual(4);
        for (const p of s.per_photo) if (p.label_count > 0) expect(p.label_length_px, `${name} ${p.photo}`).toBeGreaterThan(15);
        expect(s.within1).toBeGreaterThanOrEqual(0);
        expect(s.within1).toBeLessThanOrEqual(1);
      }
      // the held-out split is the training recipe's (pack_real.py): sha1(name) % 4 == 0 for pavement-sut
      expect(full.sets['pavement-sut'].per_photo.map((p: any) => p.photo)).toContain('105.jpg');
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  }, 300_000);
});
