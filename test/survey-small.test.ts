// crackscope survey on photographs no taller (or no wider) than one tile: a phone photo at 1000×600
// or a 640×480 frame grab. The survey joins its mask from bands of tile rows; with a single band
// libvips' join refused ("Expected at least two images to join") and the survey failed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './helpers/daemon.js';
import { wavyCracks, writeBrightCrackImage } from './helpers/synthetic-wall.js';
import { writeTinyModel } from './helpers/tiny-model.js';

let tmp: string, modelsDir: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-survey-small-'));
  modelsDir = path.join(tmp, 'models');
  writeTinyModel(modelsDir, 'tiny', { dynamic: true, mode: 'max', width: 640, height: 384 });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('survey of a photograph within one tile row', () => {
  for (const [w, h] of [
    [1000, 600],
    [640, 480],
  ]) {
    test(`${w}×${h}: exits 0, the mask is the photograph's size and both cracks are found`, async () => {
      const img = path.join(tmp, `photo-${w}x${h}.png`);
      await writeBrightCrackImage(img, w, h, wavyCracks(w, h, 2, 5, [5]));
      const out = path.join(tmp, `out-${w}x${h}`);
      const r = await runCli(['survey', img, '--out', out, '--models-dir', modelsDir, '--providers', 'cpu', '--no-pdf'], { timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`photo-${w}x${h}\\.png: 2 cracks`));
      const meta = await sharp(path.join(out, `photo-${w}x${h}`, 'mask.tif')).metadata();
      expect([meta.width, meta.height]).toEqual([w, h]);
    }, 150_000);
  }
});
