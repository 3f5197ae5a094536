// The config schema: every key the service reads, its default, and what is allowed. The single
// source of truth for config files, CRACKSCOPE_* environment variables and command-line flags.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import fs from 'node:fs';

/** The package root, found from this file whether it runs as TypeScript source or from dist/. */
export const PROJECT_ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (dir !== path.dirname(dir) && !fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
})();

const PROVIDERS = ['tensorrt', 'cuda', 'webgpu', 'cpu'] as const;
const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const MASK_ENCODINGS = ['raw', 'deflate'] as const;

type Parsed<T> = { ok: true; value: T } | { ok: false };
interface KeySpec<T> {
  default: T | ((c: Record<string, unknown>) => T);
  allowed: string;
  parse(raw: unknown): Parsed<T>;
  help: string;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = { ok: false } as const;

function int(min: number, max: number) {
  return (raw: unknown): Parsed<number> => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    return Number.isInteger(n) && n >= min && n <= max ? ok(n) : bad;
  };
}
function num(min: number, max: number) {
  return (raw: unknown): Parsed<number> => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    return Number.isFinite(n) && n >= min && n <= max ? ok(n) : bad;
  };
}
function oneOf<T extends string>(values: readonly T[]) {
  return (raw: unknown): Parsed<T> => (typeof raw === 'string' && (values as readonly string[]).includes(raw) ? ok(raw as T) : bad);
}
function listOf<T extends string>(values: readonly T[]) {
  return (raw: unknown): Parsed<T[]> => {
    const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : null;
    if (!items || items.length === 0 || !items.every((s) => (values as readonly unknown[]).includes(s))) return bad;
    return ok(items as T[]);
  };
}
function str(test: (s: string) => boolean = () => true) {
  return (raw: unknown): Parsed<string> => (typeof raw === 'string' && test(raw) ? ok(raw) : bad);
}
function bool(raw: unknown): Parsed<boolean> {
  if (typeof raw === 'boolean') return ok(raw);
  if (raw === 'true' || raw === '1' || raw === 'yes') return ok(true);
  if (raw === 'false' || raw === '0' || raw === 'no') return ok(false);
  return bad;
}

const SOURCE_SCHEMES = /^(demo|test|file|v4l2|csi|rtsp|rtsps):\/\//;
const dataDirDefault = () => process.env.STATE_DIRECTORY?.split(':')[0] || path.join(PROJECT_ROOT, 'var');

export const CONFIG_SCHEMA = {
  source: { default: 'demo://', allowed: 'a source URI: demo://, test://, file:///path, v4l2:///dev/videoN, csi://N, rtsp://host/path', parse: str((s) => SOURCE_SCHEMES.test(s)), help: 'camera source' } as KeySpec<string>,
  listen: { default: '127.0.0.1', allowed: 'an IP address to listen on (127.0.0.1 = this device only, 0.0.0.0 = the network)', parse: str((s) => /^[0-9a-fA-F:.]+$/.test(s)), help: 'address to listen on' } as KeySpec<string>,
  port: { default: 8080, allowed: 'an integer 0..65535 (0 = any free port)', parse: int(0, 65535), help: 'HTTP/WebSocket port' } as KeySpec<number>,
  model: { default: '', allowed: "a model name from models/ or a path to a .onnx file with its .json manifest beside it ('' = models/default.json)", parse: str(), help: 'model to load' } as KeySpec<string>,
  modelsDir: { default: path.join(PROJECT_ROOT, 'models'), allowed: 'a directory', parse: str((s) => s.length > 0), help: 'where models live' } as KeySpec<string>,
  providers: { default: [...PROVIDERS], allowed: `a comma-separated list of ${PROVIDERS.join(', ')}`, parse: listOf(PROVIDERS), help: 'execution providers to try, in order' } as KeySpec<(typeof PROVIDERS)[number][]>,
  threads: { default: 0, allowed: 'an integer 0..64 (0 = one per core)', parse: int(0, 64), help: 'inference threads (CPU provider)' } as KeySpec<number>,
  fps: { default: 15, allowed: 'a number 0.1..120', parse: num(0.1, 120), help: 'frame rate asked of the source' } as KeySpec<number>,
  jpegQuality: { default: 80, allowed: 'an integer 10..100', parse: int(10, 100), help: 'display JPEG quality' } as KeySpec<number>,
  maskEncoding: { default: 'raw', allowed: MASK_ENCODINGS.join(' or '), parse: oneOf(MASK_ENCODINGS), help: 'how masks travel over the WebSocket' } as KeySpec<(typeof MASK_ENCODINGS)[number]>,
  dataDir: { default: dataDirDefault, allowed: 'a writable directory', parse: str((s) => s.length > 0), help: 'captures, calibration and engines' } as KeySpec<string>,
  engineDir: { default: (c: Record<string, unknown>) => path.join((c.dataDir as string | undefined) ?? dataDirDefault(), "engines"), allowed: 'a directory', parse: str((s) => s.length > 0), help: 'TensorRT engines and EPContext wrappers' } as KeySpec<string>,
  captureQuotaMb: { default: 2048, allowed: 'an integer 1..1000000 (MB)', parse: int(1, 1_000_000), help: 'captures beyond this are evicted oldest first' } as KeySpec<number>,
  adminToken: { default: '', allowed: 'a string of at least 16 characters, or empty', parse: str((s) => s === '' || s.length >= 16), help: 'token for admin actions (never logged)' } as KeySpec<string>,
  allowedOrigins: { default: [] as string[], allowed: 'a comma-separated list of origins (http://host:port)', parse: (raw: unknown) => { const l = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : null; return l && l.every((s) => typeof s === 'string' && /^https?:\/\/[^/]+$/.test(s)) ? ok(l as string[]) : bad; }, help: 'extra WebSocket origins allowed besides the page itself' } as KeySpec<string[]>,
  maxClients: { default: 32, allowed: 'an integer 1..1000', parse: int(1, 1000), help: 'WebSocket viewers at once' } as KeySpec<number>,
  clientStallMs: { default: 10000, allowed: 'an integer 500..600000 (ms)', parse: int(500, 600000), help: 'a viewer that reads nothing this long is dropped' } as KeySpec<number>,
  sourceStallMs: { default: 5000, allowed: 'an integer 200..600000 (ms)', parse: int(200, 600000), help: 'no frame this long = the source is down' } as KeySpec<number>,
  logLevel: { default: 'info', allowed: LOG_LEVELS.join(', '), parse: oneOf(LOG_LEVELS), help: 'log level' } as KeySpec<(typeof LOG_LEVELS)[number]>,
  quiet: { default: false, allowed: 'true or false', parse: bool, help: 'log warnings and errors only' } as KeySpec<boolean>,
};

export type ConfigKey = keyof typeof CONFIG_SCHEMA;
type ValueOf<S> = S extends KeySpec<infer T> ? T : never;
export type Config = { [K in ConfigKey]: ValueOf<(typeof CONFIG_SCHEMA)[K]> };

/** camelCase key -> CRACKSCOPE_SNAKE_CASE */
export const envName = (key: string) => 'CRACKSCOPE_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
/** camelCase key -> --kebab-case */
export const flagName = (key: string) => '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
