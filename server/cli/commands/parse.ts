// Option-value parsers for command-specific flags (config keys are checked by the config schema).
import { InvalidArgumentError } from 'commander';

/** An integer in min..max, or commander's usage error (exit 64). */
export const intInRange = (min: number, max: number) => (text: string) => {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || n < min || n > max) throw new InvalidArgumentError(`expected an integer ${min}..${max}`);
  return n;
};

/** A number in (min, max], or commander's usage error (exit 64). */
export const numberAbove = (min: number, max: number) => (text: string) => {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= min || n > max) throw new InvalidArgumentError(`expected a number in (${min}, ${max}]`);
  return n;
};
