// trtexec, TensorRT's command-line builder: found, given its command line, run with its log
// followed, and its log read back (TensorRT version, device, compute capability) to cross-check
// the engine key. The build around it is engine-build.ts.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Precision } from './engine-cache.js';

/** Finds trtexec: --trtexec, $TRTEXEC, JetPack's /usr/src/tensorrt/bin, then PATH. */
export function findTrtexec(explicit?: string): string | undefined {
  const cands = [explicit, process.env.TRTEXEC, '/usr/src/tensorrt/bin/trtexec', '/usr/local/tensorrt/bin/trtexec'];
  for (const c of cands) if (c && fs.existsSync(c)) return c;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, 'trtexec');
    if (dir && fs.existsSync(p)) return p;
  }
  return undefined;
}

function versionAtLeast(v: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = v.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/** The trtexec command line for one build. */
export function trtexecArgs(o: {
  onnx: string;
  engineOut: string;
  timingCache: string;
  precision: Precision;
  shapesArg?: string;
  calibCache?: string;
  workspaceMb?: number;
  tensorrtVersion?: string;
}): string[] {
  const args = [`--onnx=${o.onnx}`, `--saveEngine=${o.engineOut}`, `--timingCacheFile=${o.timingCache}`, '--fp16'];
  // no 10-15 s benchmark after the build: --skipInference from TensorRT 8.6, --buildOnly before
  if (o.tensorrtVersion) args.push(versionAtLeast(o.tensorrtVersion, 8, 6) ? '--skipInference' : '--buildOnly');
  if (o.precision === 'int8') {
    args.push('--int8');
    if (o.calibCache) args.push(`--calib=${o.calibCache}`);
  }
  if (o.shapesArg) args.push(`--shapes=${o.shapesArg}`); // min = opt = max: a static profile
  if (o.workspaceMb) args.push(`--memPoolSize=workspace:${o.workspaceMb}`);
  return args;
}

/** Runs trtexec; its errors, warnings and milestones go to `out` as they come, the whole log comes back. */
export function runTrtexec(bin: string, args: string[], out: (line: string) => void): Promise<{ code: number; log: string }> {
  return new Promise((resolve) => {
    out(`$ ${bin} ${args.join(' ')}`);
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let partial = '';
    const onData = (d: Buffer) => {
      const s = d.toString();
      log += s;
      partial += s;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines)
        if (/\[E\]|\[W\]|PASSED|FAILED|TensorRT version|Selected Device|Compute Capability|GPU Compute Time|Engine built/i.test(l))
          out(`  trtexec: ${l.trim()}`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => resolve({ code: 127, log: log + String(err) }));
    child.on('close', (code) => resolve({ code: code ?? 1, log }));
  });
}

/** What trtexec says about itself, to cross-check the key. */
export function parseTrtexecLog(log: string): { tensorrtVersion?: string; device?: string; computeCapability?: string } {
  // "TensorRT version: 8.6.2", or the banner "[TensorRT v8502]" (8.5.2) / "[TensorRT v100300]" (10.3.0)
  const banner = /TensorRT v(\d{4}|\d{6})\b/.exec(log)?.[1];
  const fromBanner = banner
    ? (banner.length === 4 ? [banner[0], banner[1], banner.slice(2)] : [banner.slice(0, 2), banner.slice(2, 4), banner.slice(4)]).map(Number).join('.')
    : undefined;
  const ver = /TensorRT version:\s*(\d+\.\d+\.\d+)/.exec(log)?.[1] ?? fromBanner;
  const device = /Selected Device:\s*(.+)/.exec(log)?.[1]?.trim();
  const cc = /Compute Capability:\s*(\d+)\.(\d+)/.exec(log);
  return { tensorrtVersion: ver, device, computeCapability: cc ? `${cc[1]}${cc[2]}` : undefined };
}

/** The INT8 calibration cache `--calib` names: the file itself, or <dir>/calibration.cache; undefined when there is none. */
export function calibCacheFrom(calib: string | undefined): string | undefined {
  if (!calib) return undefined;
  try {
    const st = fs.statSync(calib);
    if (st.isFile()) return calib;
    const c = path.join(calib, 'calibration.cache');
    if (fs.existsSync(c)) return c;
  } catch {
    /* missing */
  }
  return undefined;
}
