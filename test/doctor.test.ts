// `crackscope doctor` here (no GPU, no Jetson): it says so, runs the checks that apply, and exits
// 0 only when they pass; a broken state directory or source, or a (simulated) Jetson without its
// GPU stack, makes it fail with the fix named.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/daemon.js';

const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), `cs-doctor-${p}-`));
const json = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);
const byName = (r: any, name: string) => r.checks.find((c: any) => c.name === name);

describe('crackscope doctor', () => {
  it('here: says there is no GPU, passes the source probe and the state directory, exits 0', async () => {
    const r = await runCli(['doctor', '--json', '--no-browser', '--source', 'demo://', '--data-dir', tmp('ok')], { timeoutMs: 90_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const out = json(r.stdout);
    expect(out.ok).toBe(true);
    expect(out.checks.map((c: any) => c.name)).toEqual(
      expect.arrayContaining([
        'JetPack / L4T',
        'CUDA / TensorRT',
        'ONNX Runtime',
        'Node.js',
        'GPU device nodes',
        'CUDA session (tiny model)',
        'TensorRT session (tiny model)',
        'TensorRT engine cache',
        'source negotiates',
        'state directory',
        'kiosk browser + WebGL',
        'power mode / clocks',
      ]),
    );
    for (const c of out.checks) expect(['pass', 'fail', 'n/a']).toContain(c.result);
    if (!fs.existsSync('/etc/nv_tegra_release') && !fs.existsSync('/dev/nvidia0')) {
      expect(byName(out, 'GPU device nodes')).toMatchObject({ result: 'n/a', detail: expect.stringMatching(/no GPU here/) });
      expect(byName(out, 'JetPack / L4T')).toMatchObject({ result: 'n/a', detail: expect.stringMatching(/not a Jetson/) });
    }
    expect(byName(out, 'source negotiates')).toMatchObject({
      result: 'pass',
      detail: expect.stringMatching(/^demo:\/\/: caps negotiated, first frame after \d+ ms/),
    });
    expect(byName(out, 'state directory').result).toBe('pass');
    expect(out.passed).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('a state directory it cannot write and a source with no frames: fail, with fixes, exit 1; the table says so', async () => {
    // a data dir under a regular file cannot be created (root ignores file modes, so no chmod here)
    const file = path.join(tmp('file'), 'not-a-dir');
    fs.writeFileSync(file, '');
    const r = await runCli(['doctor', '--no-browser', '--source', `file://${tmp('empty')}/`, '--data-dir', `${file}/data`], { timeoutMs: 90_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^CHECK\s+RESULT\s+DETAIL$/m);
    expect(r.stdout).toMatch(/^state directory\s+FAIL\s+\S+\/not-a-dir\/data: ENOTDIR/m);
    expect(r.stdout).toMatch(/^source negotiates\s+FAIL\s+file:\/\/.*no frame within 2 s — cannot open/m);
    expect(r.stdout).toMatch(/fix: sudo install -d -o crackscope/);
    expect(r.stdout).toMatch(/^FAILED: \d+ passed, 2 failed/m);
  }, 120_000);

  it('on a (simulated) JetPack 6.2 without the GPU stack: versions, GPU nodes and sessions fail with their fixes', async () => {
    const dir = tmp('l4t');
    const rel = path.join(dir, 'nv_tegra_release');
    fs.writeFileSync(rel, '# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8 01:49:37 UTC 2025\n');
    const r = await runCli(['doctor', '--json', '--no-browser', '--source', 'demo://', '--data-dir', tmp('data')], {
      env: { CRACKSCOPE_TEGRA_RELEASE_FILE: rel },
      timeoutMs: 90_000,
    });
    expect(r.code).toBe(1);
    const out = json(r.stdout);
    expect(byName(out, 'JetPack / L4T')).toMatchObject({ result: 'pass', detail: 'L4T R36.4.3 = JetPack 6.1/6.2' });
    expect(byName(out, 'ONNX Runtime')).toMatchObject({ result: 'fail', fix: expect.stringMatching(/--ort-tarball/) });
    expect(byName(out, 'GPU device nodes').result).toBe('fail');
    expect(byName(out, 'TensorRT session (tiny model)').result).toBe('fail');
    expect(byName(out, 'TensorRT engine cache')).toMatchObject({ result: 'fail', fix: expect.stringMatching(/build-engine/) });
    expect(byName(out, 'source negotiates').result).toBe('pass');
  }, 120_000);
});
