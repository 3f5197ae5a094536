import { defineCommand } from '../program.js';
import { addConfigOptions } from '../config-options.js';
import { languageCode, multipleOf, nonNegativeNumber, numberBetween, positiveNumber, widthClasses } from './parse.js';

export default defineCommand({
  name: 'survey',
  summary: 'full-resolution crack map of large images: mask, overlay, GeoJSON/SVG, width classes, report (HTML+PDF), deep-zoom pyramid',
  configure: (cmd) =>
    addConfigOptions(cmd)
      .argument('<images...>', 'image files (JPEG, PNG, TIFF incl. BigTIFF and pyramidal) and folders of images')
      .option('--out <dir>', 'where the survey folders go (default: the surveyDir config key, <dataDir>/surveys, which the kiosk lists)')
      .option('--mm-per-px <x>', 'millimetres per image pixel: lengths and widths in mm, width classes', positiveNumber('millimetres per image pixel'))
      .option('--calibration <name>', 'a stored calibration (<dataDir>/calibration.json, by source URI), scaled from the live mask to the image')
      .option('--width-classes <spec>', 'width classes in mm, name:upper,…,last (default hairline:0.1,fine:0.3,medium:1,wide:3,open)', widthClasses)
      .option('--threshold <x>', "crack threshold in (0, 1) (default: the model's)", numberBetween(0, 1))
      .option('--tile <n>', 'pixels kept per tile, a multiple of 32 (default 640)', multipleOf(32, 128, 4096, 'pixels kept per tile'))
      .option(
        '--margin <n>',
        'context pixels the model sees on each side of a tile, a multiple of 32 (default 96)',
        multipleOf(32, 0, 512, 'context pixels on each side'),
      )
      .option(
        '--min-length-px <n>',
        'cracks whose centre line is shorter are dropped as specks (default: the config key crackMinLengthPx, 40; server/analysis/README.md)',
        nonNegativeNumber('pixels'),
      )
      .option('--no-pdf', 'no PDF of the report (it needs Chromium)')
      .option(
        '--lang <code>',
        "the report's language: a catalogue in kioskLanguages (en, zh, fr, ar, ja, …; default: kioskDefaultLanguage, else en)",
        languageCode,
      )
      .option('--json', 'one JSON summary on stdout; the per-image lines go to stderr'),
  run: async ({ args, opts }) => (await import('../survey.js')).runSurveyCommand(args, opts),
});
