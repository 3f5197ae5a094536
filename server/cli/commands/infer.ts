import { defineCommand } from '../program.js';
import { addConfigOptions } from '../config-options.js';
import { languageCode, numberBetween, positiveNumber } from './parse.js';

export default defineCommand({
  name: 'infer',
  summary: 'masks, overlays and crack reports for still images (files or folders)',
  configure: (cmd) =>
    addConfigOptions(cmd)
      .argument('<images...>', 'image files and folders of images')
      .option('--out <dir>', 'where the masks, overlays and reports go', 'crackscope-out')
      .option('--threshold <x>', "crack threshold in (0, 1) (default: the model's)", numberBetween(0, 1))
      .option('--mm-per-px <x>', 'millimetres per image pixel: adds lengths and widths in mm', positiveNumber('millimetres per image pixel'))
      .option(
        '--lang <code>',
        "the per-image lines' language and number format: a catalogue in kioskLanguages (en, zh, fr, ar, ja, …; default: kioskDefaultLanguage, else en); the JSON reports stay language-neutral",
        languageCode,
      )
      .option('--json', 'one JSON summary on stdout; the per-image lines go to stderr'),
  run: async ({ args, opts }) => (await import('../infer.js')).runInfer(args, opts),
});
