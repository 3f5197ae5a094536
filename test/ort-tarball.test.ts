// Fleets: pack-ort.sh packs a finished ONNX Runtime build (here a stand-in build tree with the same
// layout build-onnxruntime.sh leaves), and install.sh --ort-tarball accepts it only on a device with
// the same L4T release and SoC, with an intact checksum — refusing before it changes anything.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const JP62 = '# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8 01:49:37 UTC 2025\n';
const JP51 = '# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, DATE: Tue Aug  1 19:57:35 UTC 2023\n';

function fakeBuild(): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-ortwork-'));
  fs.mkdirSync(path.join(work, 'stamps'));
  fs.writeFileSync(path.join(work, 'stamps', 'package.done'), 'x');
  const out = path.join(work, 'out');
  fs.mkdirSync(path.join(out, 'pkg'), { recursive: true });
  fs.mkdirSync(path.join(out, 'libs'));
  fs.writeFileSync(path.join(out, 'pkg', 'onnxruntime-node-1.20.2.tgz'), 'node package');
  fs.writeFileSync(path.join(out, 'pkg', 'onnxruntime-common-1.20.2.tgz'), 'common package');
  fs.writeFileSync(path.join(out, 'libs', 'libonnxruntime_providers_cuda.so'), 'elf');
  fs.writeFileSync(
    path.join(out, 'crackscope-ort-build.json'),
    JSON.stringify(
      {
        ortVersion: '1.20.2',
        tensorrtVersion: '10.3.0',
        cudaVersion: '12.6',
        jetpack: '6.1/6.2',
        l4t: 'R36.4',
        cudaArch: 'sm_87',
        tensorrtProvider: true,
      },
      null,
      2,
    ),
  );
  return work;
}

const release = (text: string) => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cs-rel-')), 'nv_tegra_release');
  fs.writeFileSync(f, text);
  return f;
};
const install = (tarball: string, rel: string, arch = 'sm_87') =>
  spawnSync('bash', [path.join(ROOT, 'deploy/jetson/install.sh'), '--ort-tarball', tarball, '--verify-only'], {
    encoding: 'utf8',
    env: { ...process.env, CRACKSCOPE_TEGRA_RELEASE_FILE: rel, CRACKSCOPE_CUDA_ARCH: arch },
  });

describe.skipIf(process.getuid?.() !== 0)('pack-ort.sh and install.sh --ort-tarball', () => {
  it('packs a build with its checksum; the same JetPack accepts it, another JetPack, SoC or a damaged copy is refused', () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-ortpack-'));
    const p = spawnSync('bash', [path.join(ROOT, 'deploy/jetson/pack-ort.sh'), '--work-dir', fakeBuild(), '--out', outDir], { encoding: 'utf8' });
    expect(p.status, p.stderr).toBe(0);
    const tarball = path.join(outDir, 'crackscope-ort-1.20.2-jp6.1-6.2-l4tR36.4-sm_87.tar.gz');
    expect(fs.existsSync(tarball), p.stdout).toBe(true);
    expect(fs.readFileSync(`${tarball}.sha256`, 'utf8')).toMatch(/^[0-9a-f]{64} {2}crackscope-ort-1\.20\.2-jp6\.1-6\.2-l4tR36\.4-sm_87\.tar\.gz$/m);
    const list = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout;
    expect(list).toMatch(/crackscope-ort-build\.json/);
    expect(list).toMatch(/pkg\/onnxruntime-node-1\.20\.2\.tgz/);
    expect(list).toMatch(/libs\/libonnxruntime_providers_cuda\.so/);

    const ok = install(tarball, release(JP62));
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/ORT tarball ok: ONNX Runtime 1\.20\.2 for JetPack 6\.1\/6\.2 \(L4T R36\.4, sm_87\)/);

    const jp5 = install(tarball, release(JP51));
    expect(jp5.status).toBe(1);
    expect(jp5.stderr).toMatch(/built for JetPack 6\.1\/6\.2 \(L4T R36\.4\); this device runs L4T R35\.4\. Refused/);

    const xavier = install(tarball, release(JP62), 'sm_72');
    expect(xavier.status).toBe(1);
    expect(xavier.stderr).toMatch(/built for sm_87; this SoC needs sm_72\. Refused/);

    const damaged = path.join(outDir, 'damaged.tar.gz');
    const bytes = fs.readFileSync(tarball);
    bytes[bytes.length - 10] ^= 0xff;
    fs.writeFileSync(damaged, bytes);
    fs.copyFileSync(`${tarball}.sha256`, `${damaged}.sha256`);
    const bad = install(damaged, release(JP62));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/checksum mismatch/);

    const none = install(tarball, path.join(outDir, 'no-such-release'));
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/not a Jetson/);
  });

  it('pack-ort.sh refuses a work dir without a finished build', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-ortwork-'));
    const p = spawnSync('bash', [path.join(ROOT, 'deploy/jetson/pack-ort.sh'), '--work-dir', empty, '--out', empty], { encoding: 'utf8' });
    expect(p.status).toBe(1);
    expect(p.stderr).toMatch(/no finished build/);
  });
});
