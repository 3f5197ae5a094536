// What machine this is, for TensorRT engines: the GPU (a Jetson's SoC from the device tree and
// L4T, a desktop GPU from nvidia-smi), the TensorRT runtime's version (from libnvinfer's file name
// or its header), and which providers the installed onnxruntime-node binary carries (without
// loading it). engine-cache.ts checks an engine's key against these.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export interface GpuInfo {
  /** e.g. "NVIDIA Jetson AGX Orin Developer Kit (tegra234)" or "NVIDIA GeForce RTX 3060" */
  name: string;
  /** major*10+minor as a string, e.g. "87"; '' when unknown */
  computeCapability: string;
}

export interface PlatformInfo {
  gpu?: GpuInfo;
  tensorrtVersion?: string;
  /** how each was found, for messages */
  notes: string[];
}

const TEGRA_SOC: Record<string, { family: string; cc: string }> = {
  tegra234: { family: 'Orin', cc: '87' },
  tegra194: { family: 'Xavier', cc: '72' },
  tegra186: { family: 'TX2', cc: '62' },
  tegra210: { family: 'Nano/TX1', cc: '53' },
};

const readText = (p: string) => {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
};

export function detectGpu(notes: string[] = []): GpuInfo | undefined {
  // Jetson: the device tree names the board and the SoC; CUDA is not needed to read it.
  const compatible = readText('/proc/device-tree/compatible');
  if (compatible) {
    const soc = compatible
      .split('\0')
      .map((s) => s.replace(/^nvidia,/, ''))
      .find((s) => s in TEGRA_SOC);
    if (soc) {
      const model = (readText('/proc/device-tree/model') ?? 'NVIDIA Jetson').replace(/\0/g, '').trim();
      notes.push(`GPU from /proc/device-tree (${soc})`);
      return { name: `${model} (${soc}, ${TEGRA_SOC[soc].family})`, computeCapability: TEGRA_SOC[soc].cc };
    }
  }
  // discrete GPU
  for (const query of ['name,compute_cap', 'name']) {
    try {
      const out = execFileSync('nvidia-smi', [`--query-gpu=${query}`, '--format=csv,noheader', '--id=0'], {
        encoding: 'utf8',
        timeout: 5000,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      if (!out) continue;
      const [name, cc] = out.split(',').map((s) => s.trim());
      notes.push('GPU from nvidia-smi');
      return { name, computeCapability: cc ? cc.replace('.', '') : '' };
    } catch {
      /* no nvidia-smi or too old for compute_cap */
    }
  }
  notes.push('no NVIDIA GPU found (no Jetson device tree, no nvidia-smi)');
  return undefined;
}

const LIB_DIRS = ['/usr/lib/aarch64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/usr/local/lib', '/usr/lib', '/usr/local/tensorrt/lib', '/opt/tensorrt/lib'];
const INCLUDE_DIRS = [
  '/usr/include/aarch64-linux-gnu',
  '/usr/include/x86_64-linux-gnu',
  '/usr/include',
  '/usr/local/tensorrt/include',
  '/opt/tensorrt/include',
];

/** The TensorRT runtime on this machine, from libnvinfer.so.X.Y.Z (or NvInferVersion.h). */
export function detectTensorrtVersion(notes: string[] = []): string | undefined {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LIB_DIRS];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    const versions = names.map((n) => /^libnvinfer\.so\.(\d+\.\d+\.\d+)(?:\.\d+)?$/.exec(n)?.[1]).filter((v): v is string => !!v);
    if (versions.length) {
      versions.sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
      notes.push(`TensorRT ${versions[0]} from ${dir}/libnvinfer.so.${versions[0]}`);
      return versions[0];
    }
  }
  for (const dir of INCLUDE_DIRS) {
    const h = readText(path.join(dir, 'NvInferVersion.h'));
    if (!h) continue;
    const defs = new Map<string, string>();
    for (const m of h.matchAll(/^#define\s+(\w+)\s+(\w+)/gm)) defs.set(m[1], m[2]);
    const val = (k: string): string | undefined => {
      let v = defs.get(k);
      for (let i = 0; i < 4 && v && !/^\d+$/.test(v); i++) v = defs.get(v);
      return v && /^\d+$/.test(v) ? v : undefined;
    };
    const [a, b, c] = ['NV_TENSORRT_MAJOR', 'NV_TENSORRT_MINOR', 'NV_TENSORRT_PATCH'].map(val);
    if (a && b && c) {
      notes.push(`TensorRT ${a}.${b}.${c} from ${dir}/NvInferVersion.h`);
      return `${a}.${b}.${c}`;
    }
  }
  notes.push('no TensorRT runtime found (libnvinfer.so.X.Y.Z)');
  return undefined;
}

export function detectPlatform(): PlatformInfo {
  const notes: string[] = [];
  return { gpu: detectGpu(notes), tensorrtVersion: detectTensorrtVersion(notes), notes };
}

// ---- onnxruntime-node's providers ------------------------------------------------------------

export interface OrtBindingInfo {
  dir?: string;
  version?: string;
  hasTensorrt: boolean;
  hasCuda: boolean;
  /** written by deploy/jetson/build-onnxruntime.sh when it installs its own build */
  build?: { ortVersion?: string; tensorrtVersion?: string; cudaVersion?: string; jetpack?: string };
  reason?: string;
}

export const ORT_BUILD_STAMP = 'crackscope-ort-build.json';

/** Looks at the installed onnxruntime-node binary (without loading it) for the provider libraries. */
export function inspectOrtBinding(): OrtBindingInfo {
  let pkgDir: string;
  let version: string | undefined;
  try {
    // from the package's entry point up to its package.json (older builds export no ./package.json)
    let dir = path.dirname(require.resolve('onnxruntime-node'));
    while (!fs.existsSync(path.join(dir, 'package.json')) && dir !== path.dirname(dir)) dir = path.dirname(dir);
    pkgDir = dir;
    version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  } catch {
    return { hasTensorrt: false, hasCuda: false, reason: 'onnxruntime-node is not installed' };
  }
  const arch = process.arch === 'arm64' ? 'arm64' : process.arch;
  const binRoot = path.join(pkgDir, 'bin');
  let dir: string | undefined;
  try {
    for (const napi of fs
      .readdirSync(binRoot)
      .filter((d) => d.startsWith('napi-v'))
      .sort()
      .reverse()) {
      const d = path.join(binRoot, napi, process.platform, arch);
      if (fs.existsSync(path.join(d, 'onnxruntime_binding.node'))) {
        dir = d;
        break;
      }
    }
  } catch {
    /* no bin */
  }
  let build: OrtBindingInfo['build'];
  try {
    build = JSON.parse(fs.readFileSync(path.join(pkgDir, ORT_BUILD_STAMP), 'utf8'));
  } catch {
    /* the prebuilt package */
  }
  if (!dir) return { version, hasTensorrt: false, hasCuda: false, build, reason: `onnxruntime-node ${version} has no binary for ${process.platform}/${arch}` };
  const has = (lib: string) => fs.existsSync(path.join(dir!, lib));
  const hasTensorrt = has('libonnxruntime_providers_tensorrt.so');
  const hasCuda = has('libonnxruntime_providers_cuda.so');
  let reason: string | undefined;
  if (!hasTensorrt) {
    reason = build
      ? `onnxruntime-node ${version} (own build) has no libonnxruntime_providers_tensorrt.so in ${dir}`
      : process.arch === 'arm64'
        ? `onnxruntime-node ${version} has no tensorrt provider (prebuilt linux/arm64 binary) — build it on the Jetson with deploy/jetson/build-onnxruntime.sh`
        : `onnxruntime-node ${version} has no tensorrt provider library (prebuilt binary; libonnxruntime_providers_tensorrt.so is fetched by its install script, which is skipped here)`;
  }
  return { dir, version, hasTensorrt, hasCuda, build, reason };
}
