import { defineCommand } from '../program.js';
import { addConfigOptions } from '../config-options.js';
import { languageCode } from './parse.js';
import { addSurveyOptions } from './survey-options.js';

export default defineCommand({
  name: 'survey',
  summary: 'full-resolution crack map of large images: mask, overlay, GeoJSON/SVG, width classes, report (HTML+PDF), deep-zoom pyramid',
  configure: (cmd) =>
    addSurveyOptions(addConfigOptions(cmd))
      .argument('<images...>', 'image files (JPEG, PNG, TIFF incl. BigTIFF and pyramidal) and folders of images')
      .option('--out <dir>', 'where the survey folders go (default: the surveyDir config key, <dataDir>/surveys, which the kiosk lists)')
      .option('--calibration <name>', 'a stored calibration (<dataDir>/calibration.json, by source URI), scaled from the live mask to the image')
      .option('--no-pdf', 'no PDF of the report (it needs Chromium)')
      .option(
        '--lang <code>',
        "the report's language: a catalogue in kioskLanguages (en, zh, fr, ar, ja, …; default: kioskDefaultLanguage, else en)",
        languageCode,
      )
      .option('--json', 'one JSON summary on stdout; the per-image lines go to stderr'),
  run: async ({ args, opts }) => (await import('../survey.js')).runSurveyCommand(args, opts),
});
