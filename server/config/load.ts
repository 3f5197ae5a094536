// Builds the config: defaults < config file < environment (CRACKSCOPE_*) < command-line flags, each
// value checked against its key's schema (schema.ts) as it comes in, so the error names its origin.
import fs from 'node:fs';
import { displayUri } from './source-uri.js';
import { CONFIG_KEY_NAMES, CONFIG_KEYS, SECRET_KEYS, type Config, type ConfigKey, envName, flagName, fromText } from './schema.js';

/** A bad config value: the service prints `message` as one line and exits 78 (EX_CONFIG). */
export class ConfigError extends Error {
  readonly exitCode = 78;
}

function setKey(out: Partial<Config>, key: ConfigKey, raw: unknown, origin: string) {
  const spec = CONFIG_KEYS[key];
  // text (environment, flags, and config files written before the JSON Schema) in its JSON type
  const parsed = spec.schema.safeParse(typeof raw === 'string' ? fromText(key, raw) : raw);
  if (!parsed.success) {
    throw new ConfigError(`config error: ${key} (${origin}) = ${JSON.stringify(raw)} is not allowed; expected ${spec.allowed}`);
  }
  (out as Record<string, unknown>)[key] = parsed.data;
}

export interface LoadConfigOptions {
  /** values from command-line flags, by key (text, or true for a bare boolean flag) */
  flags?: Partial<Record<ConfigKey, unknown>>;
  configFile?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const out: Partial<Config> = {};
  const file = opts.configFile ?? env.CRACKSCOPE_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config error: config file ${file} cannot be read as JSON: ${(err as Error).message.split('\n')[0]}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new ConfigError(`config error: config file ${file} must hold a JSON object`);
    for (const [key, raw] of Object.entries(parsed)) {
      if (key === '$schema') continue; // for editors
      if (!(key in CONFIG_KEYS)) throw new ConfigError(`config error: ${key} (${file}) is not a config key; known keys: ${CONFIG_KEY_NAMES.join(', ')}`);
      setKey(out, key as ConfigKey, raw, file);
    }
  }
  for (const key of CONFIG_KEY_NAMES) {
    const raw = env[envName(key)];
    if (raw !== undefined) setKey(out, key, raw, envName(key));
  }
  for (const [key, raw] of Object.entries(opts.flags ?? {})) {
    if (raw === undefined) continue;
    if (!(key in CONFIG_KEYS)) throw new ConfigError(`config error: ${key} is not a config key`);
    setKey(out, key as ConfigKey, raw, flagName(key));
  }
  for (const key of CONFIG_KEY_NAMES) {
    if (out[key] === undefined) {
      const d = CONFIG_KEYS[key].default;
      (out as Record<string, unknown>)[key] = typeof d === 'function' ? d(out) : structuredClone(d);
    }
  }
  return out as Config;
}

/** The config with secrets masked (secret keys, a password in the source URI), for logs and the admin config endpoint. */
export function redactConfig(c: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c, source: displayUri(c.source) };
  for (const k of SECRET_KEYS) out[k] = c[k] ? '(set)' : '(none)';
  return out;
}
