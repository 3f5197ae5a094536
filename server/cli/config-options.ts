// Every config key as a command-line flag, generated from the config schema: --kebab-case <value>
// (a boolean key takes an optional value: --quiet, --quiet false). The values reach loadConfig as
// text, so a bad one is refused there with the one-line config error and exit 78, naming the flag.
import { Option, type Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { CONFIG_KEY_NAMES, CONFIG_KEYS, envName, flagName, type Config, type ConfigKey } from '../config/schema.js';

export function addConfigOptions(cmd: Command, opts: { except?: ConfigKey[] } = {}): Command {
  cmd.optionsGroup('Config (each also CRACKSCOPE_<KEY> in the environment or a key in --config FILE):');
  cmd.addOption(new Option('--config <file>', 'JSON config file (also CRACKSCOPE_CONFIG); `crackscope config --schema` prints its JSON Schema'));
  for (const key of CONFIG_KEY_NAMES) {
    if (opts.except?.includes(key)) continue;
    const spec = CONFIG_KEYS[key];
    const value = spec.schema.def.type === 'boolean' ? '[bool]' : spec.schema.def.type === 'array' ? '<list>' : '<value>';
    cmd.addOption(new Option(`${flagName(key)} ${value}`, `${spec.help}: ${spec.allowed} [${envName(key)}]`));
  }
  return cmd.optionsGroup('Options:');
}

/** The config keys given as flags, by key. */
export function configFlags(opts: Record<string, unknown>): Partial<Record<ConfigKey, unknown>> {
  return Object.fromEntries(CONFIG_KEY_NAMES.filter((k) => opts[k] !== undefined).map((k) => [k, opts[k]]));
}

/** defaults < --config file < CRACKSCOPE_* < flags; throws ConfigError (exit 78). */
export function configFromOptions(opts: Record<string, unknown>): Config {
  return loadConfig({ flags: configFlags(opts), configFile: opts.config as string | undefined });
}
