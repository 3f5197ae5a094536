// Option-value parsers for command-specific flags (config keys are checked by the config schema).
// Every flag whose value has a form is checked here, when commander parses the command line, so a
// bad value is always a usage error: commander's one line naming the flag, then a pointer to
// --help, exit 64. What only the config can answer stays a config error (78): whether a language
// has a catalogue in kioskLanguages, whether a stored calibration exists in dataDir.
import fs from 'node:fs';
import net from 'node:net';
import { InvalidArgumentError } from 'commander';
import { CONFIG_KEYS } from '../../config/schema.js';
import { parseWidthClasses } from '../../survey/width-classes.js';

type Parser<T> = (text: string) => T;

/** The text as a finite number, or undefined (blank text is not 0). */
const finite = (text: string) => {
  const n = Number(text);
  return text.trim() === '' || !Number.isFinite(n) ? undefined : n;
};

/** An integer in min..max, or commander's usage error (exit 64). */
export const intInRange =
  (min: number, max: number): Parser<number> =>
  (text) => {
    const n = Number(text);
    if (!/^\s*\d+\s*$/.test(text) || n < min || n > max) throw new InvalidArgumentError(`expected an integer ${min}..${max}`);
    return n;
  };

/** A number in (min, max], or commander's usage error (exit 64). */
export const numberAbove =
  (min: number, max: number, what = ''): Parser<number> =>
  (text) => {
    const n = finite(text);
    if (n === undefined || n <= min || n > max) throw new InvalidArgumentError(`expected a number in (${min}, ${max}]${what && ` (${what})`}`);
    return n;
  };

/** A number in 0..1, ends included (a limit). */
export const fraction: Parser<number> = (text) => {
  const n = finite(text);
  if (n === undefined || n < 0 || n > 1) throw new InvalidArgumentError('expected a number in 0..1');
  return n;
};

/** A number strictly between min and max, e.g. a threshold in (0, 1). */
export const numberBetween =
  (min: number, max: number, what = ''): Parser<number> =>
  (text) => {
    const n = finite(text);
    if (n === undefined || n <= min || n >= max) throw new InvalidArgumentError(`expected a number in (${min}, ${max})${what && ` (${what})`}`);
    return n;
  };

/** A number > 0. */
export const positiveNumber =
  (what = ''): Parser<number> =>
  (text) => {
    const n = finite(text);
    if (n === undefined || n <= 0) throw new InvalidArgumentError(`expected a number > 0${what && ` (${what})`}`);
    return n;
  };

/** A number ≥ 0. */
export const nonNegativeNumber =
  (what = ''): Parser<number> =>
  (text) => {
    const n = finite(text);
    if (n === undefined || n < 0) throw new InvalidArgumentError(`expected a number ≥ 0${what && ` (${what})`}`);
    return n;
  };

/** An integer multiple of `step` in min..max (tile sizes: the model takes multiples of 32). */
export const multipleOf =
  (step: number, min: number, max: number, what = ''): Parser<number> =>
  (text) => {
    const n = finite(text);
    if (n === undefined || !Number.isInteger(n) || n < min || n > max || n % step !== 0)
      throw new InvalidArgumentError(`expected a multiple of ${step} in ${min}..${max}${what && ` (${what})`}`);
    return n;
  };

/** Width classes in mm, name:upper,…,last (survey/width-classes.ts); the text itself when it parses. */
export const widthClasses: Parser<string> = (text) => {
  try {
    parseWidthClasses(text);
  } catch (err) {
    throw new InvalidArgumentError(String((err as Error).message).replace(/^width classes: /, ''));
  }
  return text;
};

/** A language code (en, fr, zh, pt-BR): its form. Whether there is a catalogue for it is the config's question. */
export const languageCode: Parser<string> = (text) => {
  if (!/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(text)) throw new InvalidArgumentError('expected a language code such as en, fr or zh');
  return text;
};

/** A file that exists. */
export const existingFile: Parser<string> = (text) => {
  let st: fs.Stats;
  try {
    st = fs.statSync(text);
  } catch {
    throw new InvalidArgumentError('no such file');
  }
  if (!st.isFile()) throw new InvalidArgumentError('not a file');
  return text;
};

/** An IP address (IPv4 or IPv6) to listen on. */
export const ipAddress: Parser<string> = (text) => {
  if (net.isIP(text) === 0) throw new InvalidArgumentError('expected an IP address such as 127.0.0.1 or 0.0.0.0');
  return text;
};

/** Execution providers, comma-separated, as the config key providers takes them (`compare --providers-b`). */
export const providerList = (text: string) => {
  const p = CONFIG_KEYS.providers.schema.safeParse(
    text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  if (!p.success) throw new InvalidArgumentError(`expected ${CONFIG_KEYS.providers.allowed}`);
  return p.data;
};

/** A source URI, as the config key source takes it (`soak --source`, which hands it to the daemon). */
export const sourceUri: Parser<string> = (text) => {
  if (!CONFIG_KEYS.source.schema.safeParse(text).success) throw new InvalidArgumentError(`expected ${CONFIG_KEYS.source.allowed}`);
  return text;
};
