import type { Command } from 'commander';
import { multipleOf, nonNegativeNumber, numberBetween, positiveNumber, widthClasses } from './parse.js';

/**
 * The survey's measurement and tiling flags, the same for `survey` and `campaign add` (SurveyFlags
 * in ../survey.ts is their parsed form). `prefix` marks them in a command with several actions.
 */
export function addSurveyOptions(cmd: Command, prefix = ''): Command {
  return cmd
    .option('--mm-per-px <x>', `${prefix}millimetres per image pixel: lengths and widths in mm, width classes`, positiveNumber('millimetres per image pixel'))
    .option('--width-classes <spec>', `${prefix}width classes in mm, name:upper,…,last (default hairline:0.1,fine:0.3,medium:1,wide:3,open)`, widthClasses)
    .option('--threshold <x>', `${prefix}crack threshold in (0, 1) (default: the model's)`, numberBetween(0, 1))
    .option('--tile <n>', `${prefix}pixels kept per tile, a multiple of 32 (default 640)`, multipleOf(32, 128, 4096, 'pixels kept per tile'))
    .option(
      '--margin <n>',
      `${prefix}context pixels the model sees on each side of a tile, a multiple of 32 (default 96)`,
      multipleOf(32, 0, 512, 'context pixels on each side'),
    )
    .option(
      '--min-length-px <n>',
      `${prefix}cracks whose centre line is shorter are dropped as specks (default: the config key crackMinLengthPx, 40; server/analysis/README.md)`,
      nonNegativeNumber('pixels'),
    );
}
