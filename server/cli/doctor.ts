// `crackscope doctor`: what a field engineer runs on the device (as the service user, with the
// site settings: `sudo -u crackscope crackscope doctor`), and CI runs here. Each check says pass,
// fail or n/a (does not apply on this machine), what it saw, and for a failure the fix. Exit 0 only
// when every check that applies passes; --json prints one object on the last line of stdout.
//
// Checks: JetPack/L4T, CUDA, TensorRT, ONNX Runtime and Node against the supported table; GPU
// device nodes open to this user (and no device cgroup filter on the unit); a CUDA and a TensorRT
// session open with a tiny model; the engine cache valid for this model/GPU/TensorRT; the
// configured source negotiates caps and delivers a frame (a 2-second probe); the state directory
// is writable and has space; the kiosk browser starts and has WebGL; power mode and clocks.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { configFromOptions } from './config-options.js';
import { AUTO_SOURCE, detectSource } from '../camera/auto-source.js';
import { openSource } from '../camera/open-source.js';
import { createLogger } from '../log/logger.js';
import { oneLine } from '../log/one-line.js';
import { resolveModel } from '../inference/manifest.js';
import { ONNX_DTYPE } from '../inference/epcontext.js';
import { intAttr, intsAttr, onnxModel, onnxNode, valueInfo } from '../inference/onnx-graph.js';
import { resolveTensorrtModel } from '../inference/engine-cache.js';
import { detectGpu, detectTensorrtVersion, inspectOrtBinding } from '../inference/platform.js';

export type Verdict = 'pass' | 'fail' | 'n/a';
export interface Check {
  name: string;
  result: Verdict;
  detail: string;
  fix?: string;
}

/** The JetPacks crackscope supports: L4T release -> what JetPack ships and the ONNX Runtime build-onnxruntime.sh pins. */
export const SUPPORTED: { l4t: RegExp; jetpack: string; cuda: string; tensorrt: string; ort: string; tensorrtPath: boolean }[] = [
  { l4t: /^35\.[2-6]$/, jetpack: '5.1', cuda: '11.4', tensorrt: '8.5', ort: '1.16.3', tensorrtPath: false },
  { l4t: /^36\.[23]$/, jetpack: '6.0', cuda: '12.2', tensorrt: '8.6', ort: '1.17.3', tensorrtPath: true },
  { l4t: /^36\.4$/, jetpack: '6.1/6.2', cuda: '12.6', tensorrt: '10.3', ort: '1.20.2', tensorrtPath: true },
];

export interface L4t {
  major: number;
  minor: number;
  revision: string;
}

export function readL4t(file = process.env.CRACKSCOPE_TEGRA_RELEASE_FILE ?? '/etc/nv_tegra_release'): L4t | undefined {
  let line: string;
  try {
    line = fs.readFileSync(file, 'utf8').split('\n')[0];
  } catch {
    return undefined;
  }
  const m = /^# R(\d+) \(release\), REVISION: (\d+)(\.\d+)?/.exec(line);
  return m ? { major: Number(m[1]), minor: Number(m[2]), revision: `${m[2]}${m[3] ?? ''}` } : undefined;
}

const sh = (cmd: string, args: string[], timeout = 10_000) => spawnSync(cmd, args, { encoding: 'utf8', timeout });
const which = (bin: string) => (sh('sh', ['-c', `command -v ${bin}`]).stdout ?? '').trim() || undefined;
const mm = (v?: string) => v?.split('.').slice(0, 2).join('.');

function cudaVersion(): string | undefined {
  try {
    const j = JSON.parse(fs.readFileSync('/usr/local/cuda/version.json', 'utf8'));
    return j.cuda?.version;
  } catch {
    /* older CUDA: version.txt or nvcc */
  }
  const t = /CUDA Version (\d+\.\d+(\.\d+)?)/.exec(fs.existsSync('/usr/local/cuda/version.txt') ? fs.readFileSync('/usr/local/cuda/version.txt', 'utf8') : '');
  if (t) return t[1];
  const n = /release (\d+\.\d+)/.exec(sh('/usr/local/cuda/bin/nvcc', ['--version']).stdout ?? '');
  return n?.[1];
}

/** The GPU device nodes: Jetson (JetPack 5 nvhost/nvmap, JetPack 6 nvgpu) or a desktop NVIDIA GPU. */
function gpuNodes(jetson: boolean): string[] {
  const cands = jetson
    ? ['/dev/nvmap', '/dev/nvhost-ctrl-gpu', '/dev/nvhost-gpu', '/dev/nvgpu/igpu0/ctrl', '/dev/nvgpu/igpu0/channel']
    : ['/dev/nvidiactl', '/dev/nvidia0', '/dev/nvidia-uvm'];
  return cands.filter((p) => fs.existsSync(p));
}

/** uint8 NHWC in -> Cast -> ReduceMean -> Round -> Clip -> Cast -> uint8 out: the TensorRT-friendly edges of the real models. */
function tinyModel(): Buffer {
  return onnxModel(
    'doctor',
    [
      onnxNode('Cast', ['image'], ['x'], [intAttr('to', ONNX_DTYPE.float32)]),
      onnxNode('ReduceMean', ['x'], ['m'], [intsAttr('axes', [3]), intAttr('keepdims', 0)]),
      onnxNode('Round', ['m'], ['r']),
      onnxNode('Clip', ['r'], ['c']),
      onnxNode('Cast', ['c'], ['mask'], [intAttr('to', ONNX_DTYPE.uint8)]),
    ],
    valueInfo('image', ONNX_DTYPE.uint8, [1, 32, 32, 3]),
    valueInfo('mask', ONNX_DTYPE.uint8, [1, 32, 32]),
  );
}

async function openSession(provider: 'cuda' | 'tensorrt'): Promise<string> {
  const ort = await import('onnxruntime-node');
  const s = await ort.InferenceSession.create(tinyModel(), { executionProviders: [provider] });
  const out = await s.run({ image: new ort.Tensor('uint8', new Uint8Array(32 * 32 * 3).fill(100), [1, 32, 32, 3]) });
  const v = (out.mask.data as Uint8Array)[0];
  await s.release();
  if (v !== 100) throw new Error(`ran, but the tiny model gave ${v}, want 100`);
  return 'session opened and ran the tiny model';
}

async function probeSource(config: Config, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  let uri = config.source;
  let why = '';
  if (uri === AUTO_SOURCE) {
    const c = detectSource('/', { hasArgus: sh('gst-inspect-1.0', ['nvarguscamerasrc']).status === 0 });
    uri = c.uri;
    why = ` (auto://: ${c.why})`;
  }
  const log = createLogger('error', {}, () => undefined);
  let source;
  try {
    source = openSource(uri, { width: 64, height: 64, fps: Math.min(config.fps, 15) }, { log, stallMs: Math.max(timeoutMs, 1000) });
  } catch (err) {
    return { ok: false, detail: `${uri}: ${(err as Error).message}` };
  }
  source.start();
  const t0 = Date.now();
  try {
    const frame = await source.nextFrame(AbortSignal.timeout(timeoutMs));
    frame.release();
    return { ok: true, detail: `${uri}${why}: caps negotiated, first frame after ${Date.now() - t0} ms` };
  } catch {
    const st = source.stats();
    return { ok: false, detail: `${uri}${why}: no frame within ${timeoutMs / 1000} s${st.reason ? ` — ${st.reason}` : ''}` };
  } finally {
    await source.stop();
  }
}

function kioskBrowser(): string | undefined {
  let fromEnv = process.env.CRACKSCOPE_KIOSK_BROWSER;
  try {
    fromEnv ??= /^CRACKSCOPE_KIOSK_BROWSER=(.+)$/m.exec(fs.readFileSync('/etc/crackscope/kiosk.env', 'utf8'))?.[1]?.trim();
  } catch {
    /* no kiosk.env */
  }
  for (const b of [fromEnv, 'chromium-browser', 'chromium', 'google-chrome']) {
    if (!b) continue;
    const p = b.startsWith('/') ? (fs.existsSync(b) ? b : undefined) : which(b);
    if (p) return p;
  }
  return undefined;
}

async function probeWebgl(browser: string): Promise<{ started: boolean; webgl: boolean; detail: string }> {
  const { chromium } = await import('playwright-core');
  let b;
  try {
    b = await chromium.launch({ executablePath: browser, headless: true, args: ['--no-sandbox', '--ignore-gpu-blocklist'], timeout: 30_000 });
  } catch (err) {
    return { started: false, webgl: false, detail: `${browser} does not start: ${oneLine(err)}` };
  }
  try {
    const page = await b.newPage();
    const r = await page.evaluate(() => {
      const c = document.createElement('canvas');
      const gl = (c.getContext('webgl2') ?? c.getContext('webgl')) as WebGLRenderingContext | null;
      if (!gl) return null;
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      return String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    });
    return {
      started: true,
      webgl: r !== null,
      detail: `${browser} ${b.version()} starts; WebGL: ${r ?? 'none (the kiosk would draw with its Canvas2D fallback)'}`,
    };
  } finally {
    await b.close();
  }
}

export async function runChecks(config: Config, opts: { probeMs?: number; browser?: boolean } = {}): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const l4t = readL4t();
  const jetson = !!l4t;
  const row = l4t && SUPPORTED.find((s) => s.l4t.test(`${l4t.major}.${l4t.minor}`));

  // ---- versions
  if (!l4t) add({ name: 'JetPack / L4T', result: 'n/a', detail: `not a Jetson (no /etc/nv_tegra_release): ${os.type()} ${os.release()} ${process.arch}` });
  else if (!row)
    add({
      name: 'JetPack / L4T',
      result: 'fail',
      detail: `L4T R${l4t.major}.${l4t.revision} is not supported`,
      fix: 'flash JetPack 6.2.x (L4T R36.4.x); JetPack 5.1.x (R35.2-R35.6) runs on cuda only',
    });
  else
    add({
      name: 'JetPack / L4T',
      result: 'pass',
      detail: `L4T R${l4t.major}.${l4t.revision} = JetPack ${row.jetpack}${row.tensorrtPath ? '' : ' (cuda only: no TensorRT FP16 path on JetPack 5)'}`,
    });

  const cuda = cudaVersion();
  const trt = detectTensorrtVersion();
  if (!row) add({ name: 'CUDA / TensorRT', result: 'n/a', detail: `CUDA ${cuda ?? 'none'}, TensorRT ${trt ?? 'none'} (no supported JetPack to compare with)` });
  else {
    const ok = mm(cuda) === row.cuda && (!row.tensorrtPath || mm(trt) === row.tensorrt);
    add({
      name: 'CUDA / TensorRT',
      result: ok ? 'pass' : 'fail',
      detail: `CUDA ${cuda ?? 'none'} (want ${row.cuda}), TensorRT ${trt ?? 'none'} (want ${row.tensorrt})`,
      fix: ok ? undefined : 'sudo apt install nvidia-jetpack (CUDA, cuDNN, TensorRT of this JetPack)',
    });
  }

  const binding = inspectOrtBinding();
  const ortDesc = `onnxruntime-node ${binding.version ?? '?'}${binding.build ? ` (own build: ORT ${binding.build.ortVersion}, TensorRT ${binding.build.tensorrtVersion ?? '-'}, CUDA ${binding.build.cudaVersion ?? '-'}, JetPack ${binding.build.jetpack ?? '?'})` : ' (prebuilt)'}; providers: ${['cpu', binding.hasCuda && 'cuda', binding.hasTensorrt && 'tensorrt'].filter(Boolean).join(', ')}`;
  if (!row) add({ name: 'ONNX Runtime', result: 'n/a', detail: ortDesc });
  else {
    const ok =
      !!binding.build &&
      binding.hasCuda &&
      (!row.tensorrtPath || binding.hasTensorrt) &&
      binding.build.ortVersion === row.ort &&
      (!binding.build.jetpack || binding.build.jetpack === row.jetpack);
    add({
      name: 'ONNX Runtime',
      result: ok ? 'pass' : 'fail',
      detail: `${ortDesc}; want ORT ${row.ort} built for JetPack ${row.jetpack}`,
      fix: ok
        ? undefined
        : 'sudo deploy/jetson/install.sh --ort-tarball FILE (a build packed on an identical device), or sudo deploy/jetson/build-onnxruntime.sh --app-dir /opt/crackscope',
    });
  }

  const nodeMajor = Number(process.versions.node.split('.')[0]);
  add({
    name: 'Node.js',
    result: !jetson ? 'n/a' : nodeMajor >= 22 ? 'pass' : 'fail',
    detail: `node ${process.versions.node}${nodeMajor < 22 ? ' (20 is end-of-life since 2026-04-30)' : ''}`,
    fix: jetson && nodeMajor < 22 ? 'sudo deploy/jetson/install.sh (installs Node 22 LTS from NodeSource)' : undefined,
  });

  // ---- GPU
  const nodes = gpuNodes(jetson);
  const gpu = detectGpu();
  if (!nodes.length && !jetson) {
    add({ name: 'GPU device nodes', result: 'n/a', detail: 'no GPU here: no /dev/nvidia* and not a Jetson; inference runs on the cpu provider' });
  } else if (!nodes.length) {
    add({
      name: 'GPU device nodes',
      result: 'fail',
      detail: 'no /dev/nvmap, /dev/nvhost-*, /dev/nvgpu/* on this Jetson',
      fix: 'a JetPack install problem: reinstall nvidia-l4t-core / reflash',
    });
  } else {
    const denied = nodes.filter((p) => {
      try {
        fs.accessSync(p, fs.constants.R_OK | fs.constants.W_OK);
        return false;
      } catch {
        return true;
      }
    });
    // the unit's device cgroup: any DeviceAllow= (ProtectClock=yes adds one before systemd 252) closes all other nodes
    const show = which('systemctl') ? (sh('systemctl', ['show', '-p', 'DeviceAllow', '-p', 'DevicePolicy', 'crackscope']).stdout ?? '') : '';
    const allow = /^DeviceAllow=(.+)$/m.exec(show)?.[1];
    const policy = /^DevicePolicy=(.+)$/m.exec(show)?.[1];
    const cgroupBad = !!allow || (policy && policy !== 'auto');
    const user = os.userInfo().username;
    add({
      name: 'GPU device nodes',
      result: denied.length || cgroupBad ? 'fail' : 'pass',
      detail: `${gpu?.name ?? 'GPU'}: ${nodes.join(', ')} ${denied.length ? `— not readable/writable by ${user}: ${denied.join(', ')}` : `open to ${user}`}${cgroupBad ? `; crackscope.service DevicePolicy=${policy} DeviceAllow=${allow}` : ''}`,
      fix: denied.length
        ? 'run doctor as the service user (sudo -u crackscope crackscope doctor); add it to the video and render groups (install.sh does)'
        : cgroupBad
          ? 'remove DeviceAllow=/ProtectClock= from the unit (they close the device cgroup before systemd 252) and systemctl daemon-reload'
          : undefined,
    });
  }

  // ---- sessions
  for (const provider of ['cuda', 'tensorrt'] as const) {
    const has = provider === 'cuda' ? binding.hasCuda : binding.hasTensorrt;
    const applies = jetson ? provider === 'cuda' || !!row?.tensorrtPath : nodes.length > 0;
    const name = `${provider === 'cuda' ? 'CUDA' : 'TensorRT'} session (tiny model)`;
    if (!has) {
      add({
        name,
        result: applies ? 'fail' : 'n/a',
        detail: `onnxruntime-node here has no ${provider} provider${applies ? '' : ' (no GPU)'}`,
        fix: applies ? 'install the ONNX Runtime build for this JetPack (install.sh --ort-tarball FILE or build-onnxruntime.sh)' : undefined,
      });
      continue;
    }
    try {
      add({ name, result: 'pass', detail: await openSession(provider) });
    } catch (err) {
      add({
        name,
        result: applies ? 'fail' : 'n/a',
        detail: oneLine(err),
        fix: applies ? 'see the journal for EPERM on /dev/nvhost-* or missing libcudnn/libnvinfer (ldd on the provider .so)' : undefined,
      });
    }
  }

  // ---- engine cache
  try {
    const model = resolveModel(config.modelsDir, config.model);
    const r = resolveTensorrtModel(config, model, { binding });
    const applies = !!row?.tensorrtPath && config.providers.includes('tensorrt');
    add({
      name: 'TensorRT engine cache',
      result: r.ok ? 'pass' : applies ? 'fail' : 'n/a',
      detail: r.ok
        ? `${r.label} engine for ${model.manifest.name} at ${model.manifest.input.height}x${model.manifest.input.width}: ${path.basename(r.path)}`
        : `${model.manifest.name}: ${r.reason}`,
      fix: !r.ok && applies ? `sudo -u crackscope CRACKSCOPE_DATA_DIR=${config.dataDir} crackscope build-engine` : undefined,
    });
  } catch (err) {
    add({ name: 'TensorRT engine cache', result: 'fail', detail: (err as Error).message, fix: 'check CRACKSCOPE_MODEL / models/default.json' });
  }

  // ---- source
  const probe = await probeSource(config, opts.probeMs ?? 2000);
  add({
    name: 'source negotiates',
    result: probe.ok ? 'pass' : 'fail',
    detail: probe.detail,
    fix: probe.ok
      ? undefined
      : 'check the camera (v4l2-ctl --list-devices; for csi:// systemctl status nvargus-daemon), or set CRACKSCOPE_SOURCE in /etc/crackscope/crackscope.env',
  });

  // ---- state directory
  try {
    fs.mkdirSync(config.dataDir, { recursive: true });
    const probeFile = path.join(config.dataDir, `.doctor-${process.pid}`);
    fs.writeFileSync(probeFile, 'ok');
    fs.rmSync(probeFile);
    const st = fs.statfsSync(config.dataDir);
    const freeMb = Math.floor((st.bavail * st.bsize) / 2 ** 20);
    const need = Math.max(512, Math.min(config.captureQuotaMb ?? 0, 4096) / 4);
    add({
      name: 'state directory',
      result: freeMb >= need ? 'pass' : 'fail',
      detail: `${config.dataDir} writable, ${freeMb} MB free (want ≥ ${need} MB)`,
      fix: freeMb >= need ? undefined : 'free space on that disk, or lower CRACKSCOPE_CAPTURE_QUOTA_MB',
    });
  } catch (err) {
    add({
      name: 'state directory',
      result: 'fail',
      detail: `${config.dataDir}: ${(err as Error).message}`,
      fix: `sudo install -d -o crackscope -g crackscope ${config.dataDir} (the unit's StateDirectory creates /var/lib/crackscope)`,
    });
  }

  // ---- kiosk browser
  const kioskInstalled = fs.existsSync('/etc/systemd/system/crackscope-kiosk.service');
  const browser = kioskBrowser();
  if (!browser)
    add({
      name: 'kiosk browser + WebGL',
      result: kioskInstalled ? 'fail' : 'n/a',
      detail: 'no chromium-browser / chromium found',
      fix: kioskInstalled ? 'sudo deploy/jetson/install.sh --kiosk' : undefined,
    });
  else if (opts.browser === false) add({ name: 'kiosk browser + WebGL', result: 'n/a', detail: `${browser} (probe skipped: --no-browser)` });
  else {
    const w = await probeWebgl(browser);
    const applies = kioskInstalled;
    add({
      name: 'kiosk browser + WebGL',
      result: !applies ? 'n/a' : w.started && w.webgl ? 'pass' : 'fail',
      detail: `${w.detail}${applies ? '' : ' (no kiosk unit installed here)'}`,
      fix: applies && !(w.started && w.webgl) ? 'journalctl -u crackscope-kiosk; chrome://gpu on the kiosk; deploy/jetson/README.md "Kiosk"' : undefined,
    });
  }

  // ---- power mode and clocks
  if (!jetson) add({ name: 'power mode / clocks', result: 'n/a', detail: 'not a Jetson' });
  else {
    const q = sh('nvpmodel', ['-q']);
    const mode = /NV Power Mode: (\S+)/.exec(q.stdout ?? '')?.[1];
    const clocks = which('systemctl') ? (sh('systemctl', ['is-enabled', 'crackscope-clocks.service']).stdout ?? '').trim() : '';
    add({
      name: 'power mode / clocks',
      result: mode ? 'pass' : 'fail',
      detail: mode
        ? `nvpmodel ${mode}${/MAXN/i.test(mode) ? '' : ' (not MAXN: lower clocks, see BENCHMARKS.md estimates)'}; jetson_clocks at boot: ${clocks === 'enabled' ? 'yes' : 'no'}`
        : `nvpmodel -q failed: ${(q.stderr || q.error?.message || '').trim().split('\n')[0]}`,
      fix: mode ? undefined : 'sudo deploy/jetson/install.sh --power-mode ID (ids in /etc/nvpmodel.conf)',
    });
  }
  return checks;
}

export function formatTable(checks: Check[]): string {
  const w = Math.max(...checks.map((c) => c.name.length));
  const lines = [`${'CHECK'.padEnd(w)}  RESULT  DETAIL`];
  for (const c of checks) {
    lines.push(`${c.name.padEnd(w)}  ${c.result.toUpperCase().padEnd(6)}  ${c.detail}`);
    if (c.fix) lines.push(`${''.padEnd(w)}          fix: ${c.fix}`);
  }
  return lines.join('\n');
}

export async function runDoctor(opts: Record<string, unknown>): Promise<number> {
  const config = configFromOptions(opts);
  const checks = await runChecks(config, { probeMs: Number(opts.probeMs ?? 2000), browser: opts.browser !== false });
  const failed = checks.filter((c) => c.result === 'fail');
  const summary = {
    ok: failed.length === 0,
    passed: checks.filter((c) => c.result === 'pass').length,
    failed: failed.length,
    notApplicable: checks.filter((c) => c.result === 'n/a').length,
  };
  if (opts.json) process.stdout.write(`${JSON.stringify({ ...summary, checks })}\n`);
  else
    process.stdout.write(
      `${formatTable(checks)}\n\n${summary.ok ? 'OK' : 'FAILED'}: ${summary.passed} passed, ${summary.failed} failed, ${summary.notApplicable} not applicable here\n`,
    );
  return summary.ok ? 0 : 1;
}
