import { Argument } from 'commander';
import { defineCommand } from '../program.js';
import { addConfigOptions } from '../config-options.js';
import { intInRange, languageCode } from './parse.js';
import { addSurveyOptions } from './survey-options.js';

export default defineCommand({
  name: 'campaign',
  summary: 'survey campaigns spread over many workers (BullMQ on Redis): add photographs, status, report, re-run with another model',
  configure: (cmd) =>
    addSurveyOptions(addConfigOptions(cmd), 'add: ')
      .addArgument(new Argument('<action>', 'add | status | report | rerun').choices(['add', 'status', 'report', 'rerun']))
      .argument('<name>', "the campaign's name (letters, digits, . _ -)")
      .argument('[inputs...]', 'add: folders of images, image files, or list files (one path a line)')
      .requiredOption('--redis <url>', 'the Redis server every worker uses: redis://[user:password@]host[:port][/db]')
      .option('--out <dir>', 'add: where <name>/<image>/ go, the same path on every worker (a shared mount); default <surveyDir>/campaigns')
      .option('--no-pdf', "add: no PDF of each survey's report; report: no PDF of the campaign report")
      .option('--attempts <n>', 'add: tries per image before its job fails (default 3)', intInRange(1, 20))
      .option('--backoff-ms <n>', 'add: wait before the first retry, doubled each time (default 5000)', intInRange(0, 3_600_000))
      .option('--as <name>', "rerun: the new campaign's name (default <name>-<model>)")
      .option('--wait', 'rerun: wait until the workers are done, then write the report with the comparison')
      .option('--timeout-s <n>', 'rerun --wait: give up after this many seconds', intInRange(1, 30 * 86_400))
      .option(
        '--lang <code>',
        "report (and rerun --wait): the campaign report's language, a catalogue in kioskLanguages (en, zh, fr, ar, ja, …; default: kioskDefaultLanguage, else en)",
        languageCode,
      )
      .option('--json', 'status/add/report: one JSON object on stdout')
      .addHelpText(
        'after',
        `
Examples:
  crackscope campaign add walls-2026 /mnt/survey/photos --redis redis://nas:6379 --out /mnt/survey/out --mm-per-px 0.05
  crackscope worker --redis redis://nas:6379            # on every machine that helps
  crackscope campaign status walls-2026 --redis redis://nas:6379
  crackscope campaign report walls-2026 --redis redis://nas:6379 --lang fr
  crackscope campaign rerun walls-2026 --model crackunet-v3 --redis redis://nas:6379 --wait
Exit codes: 0 done, 1 a failure named in the output, 64 usage, 69 Redis unusable (bad URL, no server), 78 config or model.`,
      ),
  run: async ({ args, opts }) => (await import('../campaign.js')).runCampaign(args, opts),
});
