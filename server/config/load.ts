// Builds the config: defaults < config file < environment (CRACKSCOPE_*) < command-line flags.
import fs from 'node:fs';
import { CONFIG_SCHEMA, type Config, type ConfigKey, envName, flagName } from './schema.js';

/** A bad config value: the service prints `message` as one line and exits 78 (EX_CONFIG). */
export class ConfigError extends Error {
  readonly exitCode = 78;
}

const KEYS = Object.keys(CONFIG_SCHEMA) as ConfigKey[];

function setKey(out: Partial<Config>, key: ConfigKey, raw: unknown, origin: string) {
  const spec = CONFIG_SCHEMA[key];
  const parsed = spec.parse(raw);
  if (!parsed.ok) {
    throw new ConfigError(`config error: ${key} (${origin}) = ${JSON.stringify(raw)} is not allowed; expected ${spec.allowed}`);
  }
  (out as Record<string, unknown>)[key] = parsed.value;
}

/**
 * Splits argv into flags known to the schema and positional arguments. `extraFlags` lists
 * command-specific flags (e.g. bench's --frames) and whether they take a value.
 */
export function parseArgs(argv: string[], extraFlags: Record<string, 'value' | 'boolean'> = {}) {
  const flags: Record<string, string> = {};
  const extra: Record<string, string | boolean> = {};
  const positional: string[] = [];
  let configFile: string | undefined;
  const byFlag = new Map(KEYS.map((k) => [flagName(k), k]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) { positional.push(arg); continue; }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const takeValue = () => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new ConfigError(`config error: ${name} needs a value`);
      return next;
    };
    if (name === '--config') configFile = takeValue();
    else if (byFlag.has(name)) flags[byFlag.get(name)!] = takeValue();
    else if (extraFlags[name] === 'value') extra[name.slice(2)] = takeValue();
    else if (extraFlags[name] === 'boolean') extra[name.slice(2)] = inline === undefined ? true : inline !== 'false';
    else throw new ConfigError(`config error: unknown option ${name}; known: --config, ${[...byFlag.keys(), ...Object.keys(extraFlags)].join(', ')}`);
  }
  return { flags, extra, positional, configFile };
}

export function loadConfig(opts: { flags?: Record<string, string>; configFile?: string; env?: NodeJS.ProcessEnv } = {}): Config {
  const env = opts.env ?? process.env;
  const out: Partial<Config> = {};
  const file = opts.configFile ?? env.CRACKSCOPE_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config error: config file ${file} cannot be read as JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config error: config file ${file} must hold a JSON object`);
    for (const [key, raw] of Object.entries(parsed)) {
      if (!(key in CONFIG_SCHEMA)) throw new ConfigError(`config error: ${key} (${file}) is not a config key; known keys: ${KEYS.join(', ')}`);
      setKey(out, key as ConfigKey, raw, file);
    }
  }
  for (const key of KEYS) {
    const raw = env[envName(key)];
    if (raw !== undefined) setKey(out, key, raw, envName(key));
  }
  for (const [key, raw] of Object.entries(opts.flags ?? {})) setKey(out, key as ConfigKey, raw, flagName(key));
  for (const key of KEYS) {
    if (out[key] === undefined) {
      const d = CONFIG_SCHEMA[key].default;
      (out as Record<string, unknown>)[key] = typeof d === "function" ? (d as (c: Record<string, unknown>) => unknown)(out) : d;
    }
  }
  return out as Config;
}

/** The config with secrets masked, for logs and the admin config endpoint. */
export function redactConfig(c: Config): Record<string, unknown> {
  return { ...c, adminToken: c.adminToken ? '(set)' : '(none)' };
}
