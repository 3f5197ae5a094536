import { defineCommand } from '../program.js';
import { addConfigOptions } from '../config-options.js';
import { existingFile, numberAbove } from './parse.js';

export default defineCommand({
  name: 'survey-diff',
  summary: 'compare two surveys of the same surface: new, longer and wider cracks, as a map and a table',
  configure: (cmd) =>
    addConfigOptions(cmd)
      .argument('<a>', 'the earlier survey: its folder, or its name in surveyDir')
      .argument('<b>', 'the later survey')
      .option('--out <dir>', 'where the comparison goes (default <surveyDir>/diff-A-vs-B)')
      .option('--points <file>', 'align by point pairs instead of feature matching: {"a": [[x, y], …], "b": [[x, y], …]} in image pixels', existingFile)
      .option(
        '--tolerance-px <n>',
        "how far (A's pixels) a crack of B may lie from A's and still be the same crack (default 6)",
        numberAbove(0, 100, 'pixels of survey A'),
      )
      .option('--no-pdf', 'no PDF of the report')
      .option('--json', 'the comparison as one JSON line on stdout'),
  run: async ({ args, opts }) => (await import('../survey-diff.js')).runSurveyDiff(args, opts),
});
