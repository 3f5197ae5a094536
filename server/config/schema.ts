// The config schema: every key the service reads, its default, and what is allowed, declared once
// with zod. The single source of truth for config files, CRACKSCOPE_* environment variables,
// command-line flags (server/cli/config-options.ts), the Config type and the JSON Schema that
// `crackscope config --schema` prints.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { IDENTITY_DEFAULTS } from '../analysis/crack-graph.js';
import { CONTINUE_RATIO } from '../analysis/crack-measure.js';

/** The package root, found from this file whether it runs as TypeScript source or from dist/. */
export const PROJECT_ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (dir !== path.dirname(dir) && !fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
})();

const PROVIDERS = ['tensorrt', 'cuda', 'webgpu', 'cpu'] as const;
const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const MASK_ENCODINGS = ['raw', 'deflate'] as const;

const SOURCE_SCHEMES = /^(auto|demo|test|file|v4l2|csi|rtsp|rtsps):\/\//;
const dataDirDefault = () => process.env.STATE_DIRECTORY?.split(':')[0] || path.join(PROJECT_ROOT, 'var');

interface KeyOptions<T> {
  /** a value, or computed from the keys already set (engineDir follows dataDir) */
  default: T | ((c: Partial<Record<string, unknown>>) => T);
  /** what is allowed, in words: the end of the one-line config error */
  allowed: string;
  help: string;
  /** never logged, masked in /api/config */
  secret?: boolean;
}

function key<S extends z.ZodType>(schema: S, o: KeyOptions<z.output<S>>) {
  const shown = typeof o.default === 'function' ? {} : { default: o.default };
  return { ...o, schema: schema.meta({ description: `${o.help}: ${o.allowed}`, ...shown }) as S };
}

const int = (min: number, max: number) => z.int().min(min).max(max);
const nonEmpty = () => z.string().min(1);

export const CONFIG_KEYS = {
  source: key(z.string().regex(SOURCE_SCHEMES), {
    default: 'demo://',
    allowed:
      'a source URI: auto:// (CSI, else the first USB camera, else demo://), demo://, test://, file:///path, v4l2:///dev/videoN, csi://N, rtsp://host/path',
    help: 'camera source',
  }),
  listen: key(z.string().regex(/^[0-9a-fA-F:.]+$/), {
    default: '127.0.0.1',
    allowed: 'an IP address to listen on (127.0.0.1 = this device only, 0.0.0.0 = the network)',
    help: 'address to listen on',
  }),
  port: key(int(0, 65535), { default: 8080, allowed: 'an integer 0..65535 (0 = any free port)', help: 'HTTP/WebSocket port' }),
  model: key(z.string(), {
    default: '',
    allowed: "a model name from models/ or a path to a .onnx file with its .json manifest beside it ('' = models/default.json)",
    help: 'model to load',
  }),
  compare: key(z.array(nonEmpty()).max(4), {
    default: [],
    allowed: 'a comma-separated list of up to 4 model names or .onnx paths (run on every frame beside the live model)',
    help: 'models to compare with the live one, side by side in the kiosk',
  }),
  shadow: key(z.string(), {
    default: '',
    allowed: "a model name or .onnx path, or '' for none",
    help: 'candidate model run on a sample of live frames, never shown to viewers',
  }),
  shadowRate: key(z.number().min(0.01).max(1), {
    default: 0.2,
    allowed: 'a number 0.01..1 (the share of live frames the shadow model sees)',
    help: 'share of live frames given to the shadow model',
  }),
  shadowKeep: key(int(0, 1000), { default: 20, allowed: 'an integer 0..1000 (frames; 0 = keep none)', help: 'most-disagreeing shadow frames kept on disk' }),
  modelsDir: key(nonEmpty(), { default: path.join(PROJECT_ROOT, 'models'), allowed: 'a directory', help: 'where models live' }),
  providers: key(z.array(z.enum(PROVIDERS)).min(1), {
    default: [...PROVIDERS],
    allowed: `a comma-separated list of ${PROVIDERS.join(', ')}`,
    help: 'execution providers to try, in order',
  }),
  threads: key(int(0, 64), {
    default: 0,
    allowed: 'an integer 0..64 (0 = one per core)',
    help: 'inference threads per model (CPU provider; with compare models and 0, the cores are split between them)',
  }),
  fps: key(z.number().min(0.1).max(120), { default: 15, allowed: 'a number 0.1..120', help: 'frame rate asked of the source' }),
  jpegQuality: key(int(10, 100), { default: 80, allowed: 'an integer 10..100', help: 'display JPEG quality' }),
  maskEncoding: key(z.enum(MASK_ENCODINGS), { default: 'raw', allowed: MASK_ENCODINGS.join(' or '), help: 'how masks travel over the WebSocket' }),
  dataDir: key(nonEmpty(), {
    default: dataDirDefault,
    allowed: 'a writable directory',
    help: 'captures, calibration and engines ($STATE_DIRECTORY, else var/ in the package)',
  }),
  engineDir: key(nonEmpty(), {
    default: (c) => path.join((c.dataDir as string | undefined) ?? dataDirDefault(), 'engines'),
    allowed: 'a directory',
    help: 'TensorRT engines and EPContext wrappers (<dataDir>/engines)',
  }),
  surveyDir: key(nonEmpty(), {
    default: (c) => path.join((c.dataDir as string | undefined) ?? dataDirDefault(), 'surveys'),
    allowed: 'a directory',
    help: 'where `crackscope survey` writes by default and the kiosk finds surveys (<dataDir>/surveys)',
  }),
  captureQuotaMb: key(int(1, 1_000_000), {
    default: 2048,
    allowed: 'an integer 1..1000000 (MB)',
    help: "captures beyond this are evicted, visitors' oldest first; curators' (protected) never",
  }),
  captureVisitorIntervalS: key(z.number().min(0).max(3600), {
    default: 10,
    allowed: 'a number 0..3600 (seconds; 0 = no limit)',
    help: 'after a burst, one visitor save per this many seconds per kiosk',
  }),
  captureVisitorBurst: key(int(1, 100), {
    default: 3,
    allowed: 'an integer 1..100',
    help: 'visitor saves a kiosk may make in a row before the interval applies',
  }),
  adminToken: key(z.union([z.literal(''), z.string().min(16)]), {
    default: '',
    allowed: 'a string of at least 16 characters, or empty',
    help: 'token for admin actions (never logged)',
    secret: true,
  }),
  operatorPin: key(z.union([z.literal(''), z.string().regex(/^\d{4,12}$/)]), {
    default: '',
    allowed: "4 to 12 digits (as a string), or '' for none",
    help: 'PIN that puts a kiosk in curator mode: its captures are protected (never logged)',
    secret: true,
  }),
  kioskLanguages: key(nonEmpty(), {
    default: path.join(PROJECT_ROOT, 'kiosk', 'locales'),
    allowed: 'a directory of <language>.json catalogues',
    help: 'the languages the kiosk offers, one catalogue file per language',
  }),
  kioskDefaultLanguage: key(z.union([z.literal(''), z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/)]), {
    default: '',
    allowed: "a language code with a catalogue in kioskLanguages (en, zh, fr, ar, …), or '' (= the browser's language, else English)",
    help: 'the language the kiosk opens in and returns to when idle',
  }),
  allowedOrigins: key(z.array(z.string().regex(/^https?:\/\/[^/]+$/)), {
    default: [],
    allowed: 'a comma-separated list of origins (http://host:port)',
    help: 'extra WebSocket origins allowed besides the page itself',
  }),
  maxClients: key(int(1, 1000), { default: 32, allowed: 'an integer 1..1000', help: 'WebSocket viewers at once' }),
  clientStallMs: key(int(500, 600_000), { default: 10000, allowed: 'an integer 500..600000 (ms)', help: 'a viewer that reads nothing this long is dropped' }),
  sourceStallMs: key(int(200, 600_000), { default: 5000, allowed: 'an integer 200..600000 (ms)', help: 'no frame this long = the source is down' }),
  // systemd/crackscope.service's TimeoutStopSec must stay above this (test/systemd-units.test.ts):
  // the service gives up on its own, answering what is left with 503, before systemd kills it
  stopTimeoutS: key(int(2, 600), {
    default: 15,
    allowed: "an integer 2..600 (seconds), below the systemd unit's TimeoutStopSec (20)",
    help: 'serve: on SIGTERM, capture saves in flight may finish until 1 s before this; after it the service answers 503 to what is left and exits 1',
  }),
  workerRedis: key(z.union([z.literal(''), z.string().regex(/^rediss?:\/\/./)]), {
    default: '',
    allowed: "a Redis URL redis://[user:password@]host[:port][/db], or '' for none",
    help: 'serve: also take survey campaign jobs from this Redis, at low priority, pausing while visitors use the kiosk',
    secret: true,
  }),
  workerIdleS: key(int(0, 86_400), {
    default: 120,
    allowed: 'an integer 0..86400 (seconds)',
    help: "serve --worker-redis: the campaign worker waits until no viewer has touched the kiosk for this long (the kiosk's own idle time)",
  }),
  // crack identity (server/analysis/README.md, "Crack identity": each default measured on real
  // labelled photographs); the live view's freeze, captures, `infer` and `survey` all use them
  crackContinueRatio: key(z.number().gt(0).max(1), {
    default: CONTINUE_RATIO,
    allowed: 'a number in (0, 1] (a fraction of the crack threshold; 1 = no hysteresis)',
    help: 'hysteresis: a crack seeded at the threshold continues through pixels down to this fraction of it',
  }),
  crackMinAreaPx: key(int(0, 1_000_000), {
    default: 0,
    allowed: 'an integer 0..1000000 (pixels; 0 = max(10, image pixels / 100000))',
    help: 'mask pieces smaller than this are specks, dropped before thinning',
  }),
  crackMinLengthPx: key(z.number().min(0).max(10_000), {
    default: IDENTITY_DEFAULTS.minLengthPx,
    allowed: 'a number 0..10000 (pixels)',
    help: 'a crack whose drawn centre line is shorter is a speck',
  }),
  crackMaxGapPx: key(z.number().min(0).max(1000), {
    default: IDENTITY_DEFAULTS.maxGapPx,
    allowed: 'a number 0..1000 (pixels; 0 = never bridge)',
    help: 'the longest gap between two centre-line ends bridged as one crack',
  }),
  crackMaxGapAngleDeg: key(z.number().min(0).max(90), {
    default: IDENTITY_DEFAULTS.maxGapAngleDeg,
    allowed: 'a number 0..90 (degrees)',
    help: 'how far a bridge may turn from the direction each end points in',
  }),
  crackBridgeMinProb: key(z.number().min(0).max(1), {
    default: IDENTITY_DEFAULTS.bridgeMinProb,
    allowed: 'a number 0..1',
    help: 'the mean crack probability a bridge must cross (a faint stretch, not bare wall)',
  }),
  crackGapLateralWidths: key(z.number().min(0).max(10), {
    default: IDENTITY_DEFAULTS.gapLateralWidths,
    allowed: 'a number 0..10 (crack widths; 0 = the angle alone decides)',
    help: 'a bridge turning more than the angle is still taken when the other end is within this many crack widths of the line an end points along',
  }),
  logLevel: key(z.enum(LOG_LEVELS), { default: 'info', allowed: LOG_LEVELS.join(', '), help: 'log level' }),
  quiet: key(z.boolean(), { default: false, allowed: 'true or false', help: 'log warnings and errors only' }),
};

export type ConfigKey = keyof typeof CONFIG_KEYS;
export type ConfigKeySpec = (typeof CONFIG_KEYS)[ConfigKey];
type Shape = { [K in ConfigKey]: (typeof CONFIG_KEYS)[K]['schema'] };

/** The whole config, every key set: what loadConfig returns. */
export const ConfigSchema = z.strictObject(Object.fromEntries(Object.entries(CONFIG_KEYS).map(([k, v]) => [k, v.schema])) as Shape);
export type Config = z.output<typeof ConfigSchema>;

export const CONFIG_KEY_NAMES = Object.keys(CONFIG_KEYS) as ConfigKey[];
export const SECRET_KEYS = CONFIG_KEY_NAMES.filter((k) => (CONFIG_KEYS[k] as KeyOptions<unknown>).secret);

/** JSON Schema (2020-12) of a config file: any subset of the keys, nothing else ("$schema" aside). */
export function configFileJsonSchema(): Record<string, unknown> {
  const file = ConfigSchema.partial().extend({ $schema: z.string().optional().meta({ description: 'where this schema lives, for editors' }) });
  return { title: 'crackscope config file', ...z.toJSONSchema(file, { io: 'input' }) };
}

/**
 * A value given as text (an environment variable or a flag) in the JSON type its key's schema
 * wants: numbers, comma-separated lists, true/false/1/0/yes/no. Anything else is left as text, for
 * the schema to refuse.
 */
export function fromText(key: ConfigKey, text: string): unknown {
  switch (CONFIG_KEYS[key].schema.def.type) {
    case 'number':
      return /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(text) ? Number(text) : text;
    case 'boolean':
      return ({ true: true, '1': true, yes: true, false: false, '0': false, no: false } as Record<string, boolean>)[text] ?? text;
    case 'array':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return text;
  }
}

/** camelCase key -> CRACKSCOPE_SNAKE_CASE */
export const envName = (key: string) => 'CRACKSCOPE_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
/** camelCase key -> --kebab-case */
export const flagName = (key: string) => '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
