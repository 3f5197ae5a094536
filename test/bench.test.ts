// `crackscope bench` in a short mode, so it cannot rot: the ★ JSON keys and sane values. No timing
// assertions (CI machines are shared and slow); the real numbers are in BENCHMARKS.md.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAIN, runCli } from './helpers/daemon.js';

const STAGES = ['capture', 'preprocess', 'inference', 'postprocess', 'encode', 'send', 'queue'];

function lastJson(stdout: string): Record<string, any> {
  const last = stdout.trim().split('\n').at(-1)!;
  return JSON.parse(last);
}

describe('crackscope bench', () => {
  it('--frames 10 --json: the contract keys, through the real daemon on loopback', async () => {
    const { code, stdout, stderr } = await runCli(['bench', '--frames', '10', '--json', '--clients', '2', '--providers', 'cpu'], { timeoutMs: 120_000 });
    expect(code, stderr).toBe(0);
    const r = lastJson(stdout);
    for (const k of [
      'provider',
      'model',
      'input',
      'raw_infer_ms_p50',
      'raw_fps',
      'pipeline_fps',
      'stage_ms',
      'e2e_latency_ms_p50',
      'e2e_latency_ms_p95',
      'rss_mb',
    ]) {
      expect(r, k).toHaveProperty(k);
    }
    expect(r.provider).toBe('cpu');
    const shipped = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'models', 'default.json'), 'utf8')).model;
    expect(r.model.startsWith(`${shipped}@`), r.model).toBe(true);
    expect(r.input).toMatch(/^\d+x\d+$/);
    for (const k of ['raw_infer_ms_p50', 'raw_fps', 'pipeline_fps', 'e2e_latency_ms_p50', 'rss_mb']) {
      expect(Number.isFinite(r[k]) && r[k] > 0, `${k} = ${r[k]}`).toBe(true);
    }
    expect(r.e2e_latency_ms_p95).toBeGreaterThanOrEqual(r.e2e_latency_ms_p50);
    for (const s of STAGES) {
      expect(r.stage_ms[s], s).toEqual({ p50: expect.any(Number), p95: expect.any(Number) });
      expect(r.stage_ms[s].p95).toBeGreaterThanOrEqual(r.stage_ms[s].p50);
      expect(r.stage_ms[s].p50).toBeGreaterThanOrEqual(0);
    }
    // the daemon really ran the model on every measured frame, and masks arrived whole (raw by default)
    expect(r.stage_ms.inference.p50).toBeGreaterThan(0);
    const [h, w] = r.input.split('x').map(Number);
    expect(r.mask_encoding).toBe('raw');
    expect(r.mask_bytes_mean).toBe(h * w);
    expect(r.clients).toBe(2);
    expect(r.rss_mb).toBeLessThan(4096);
  });

  it('--raw-only prints a human table and the JSON line; deflated masks are smaller', async () => {
    const raw = await runCli(['bench', '--frames', '5', '--raw-only', '--providers', 'cpu'], { timeoutMs: 60_000 });
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.stdout).toMatch(/raw session\.run\s+p50 [\d.]+ ms/);
    const r = lastJson(raw.stdout);
    expect(r.pipeline_fps).toBeUndefined();
    expect(r.raw_fps).toBeGreaterThan(0);

    const d = await runCli(['bench', '--frames', '6', '--json', '--providers', 'cpu', '--mask-encoding', 'deflate'], { timeoutMs: 120_000 });
    expect(d.code, d.stderr).toBe(0);
    const j = lastJson(d.stdout);
    const [h, w] = j.input.split('x').map(Number);
    expect(j.mask_encoding).toBe('deflate');
    expect(j.mask_bytes_mean).toBeGreaterThan(0);
    expect(j.mask_bytes_mean).toBeLessThan(h * w);
  });

  it('--compare: the live model alone and with a comparison model, against its own cost (tiny models: no timing asserted)', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { writeTinyModel } = await import('./helpers/tiny-model.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-bench-compare-'));
    writeTinyModel(dir, 'tinymax', { width: 96, height: 64, mode: 'max' });
    writeTinyModel(dir, 'tinymean', { width: 96, height: 64, mode: 'mean' });
    const r = await runCli(['bench', '--frames', '6', '--json', '--providers', 'cpu', '--models-dir', dir, '--compare', 'tinymax', '--source', 'test://ball'], {
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const c = lastJson(r.stdout).compare;
    expect(c.models).toEqual([{ model: 'tinymax@0.0.1-test', raw_infer_ms_p50: expect.any(Number) }]);
    for (const run of [c.live_alone, c.with_compare]) {
      expect(run.pipeline_fps).toBeGreaterThan(0);
      expect(run.frame_ms).toBeCloseTo(1000 / run.pipeline_fps, 0);
      expect(run.daemon_cpu_ms_per_frame).toBeGreaterThanOrEqual(0);
    }
    expect(c.frame_ms_added).toBeCloseTo(c.with_compare.frame_ms - c.live_alone.frame_ms, 0);
    expect(c.within_own_cost).toBe(c.frame_ms_added <= c.own_cost_ms);
  });

  it('--passthrough: the whole path with the model-free stand-in, reported as the non-model ceiling', async () => {
    // --daemon: the daemon another build would be (here: this one, named explicitly), driven by this bench
    const { code, stdout, stderr } = await runCli(['bench', '--frames', '20', '--passthrough', '--providers', 'cpu', '--clients', '2', '--daemon', MAIN], {
      timeoutMs: 120_000,
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/pass-through stand-in/);
    expect(stdout).toMatch(/non-model ceiling\s+[\d.]+ fps/);
    const r = lastJson(stdout);
    expect(r.passthrough).toBe(true);
    expect(r.daemon).toBe(MAIN);
    // per frame, what the pipeline adds to the model's own time
    expect(r.e2e_minus_inference_ms_p50).toBeGreaterThan(0);
    expect(r.e2e_minus_inference_ms_p95).toBeGreaterThanOrEqual(r.e2e_minus_inference_ms_p50);
    expect(r.model).toBe('passthrough@1');
    expect(r.gflops).toBe(0);
    // the stand-in takes frames at the crack model's live size, so capture, JPEG and masks cost what they do in service
    expect(r.input).toMatch(/^\d+x\d+$/);
    const [h, w] = r.input.split('x').map(Number);
    expect(r.mask_bytes_mean).toBe(h * w);
    expect(r.non_model_ceiling_fps).toBe(r.pipeline_fps);
    expect(r.non_model_ceiling_fps).toBeGreaterThan(0);
    expect(typeof r.ceiling_source_bound).toBe('boolean');
    // the source is paced to the config's highest rate, not to the stand-in's thousands of runs a second
    expect(r.source_fps).toBeLessThanOrEqual(120);
  });
});
