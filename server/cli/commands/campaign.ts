import { Argument } from 'commander';
import { defineCommand } from '../program.js';
import { addConfigOptions } from '../config-options.js';
import { intInRange, languageCode, multipleOf, nonNegativeNumber, numberBetween, positiveNumber, widthClasses } from './parse.js';

export default defineCommand({
  name: 'campaign',
  summary: 'survey campaigns spread over many workers (BullMQ on Redis): add photographs, status, report, re-run with another model',
  configure: (cmd) =>
    addConfigOptions(cmd)
      .addArgument(new Argument('<action>', 'add | status | report | rerun').choices(['add', 'status', 'report', 'rerun']))
      .argument('<name>', "the campaign's name (letters, digits, . _ -)")
      .argument('[inputs...]', 'add: folders of images, image files, or list files (one path a line)')
      .requiredOption('--redis <url>', 'the Redis server every worker uses: redis://[user:password@]host[:port][/db]')
      .option('--out <dir>', 'add: where <name>/<image>/ go, the same path on every worker (a shared mount); default <surveyDir>/campaigns')
      .option('--mm-per-px <x>', 'add: millimetres per image pixel: lengths and widths in mm, width classes', positiveNumber('millimetres per image pixel'))
      .option('--width-classes <spec>', 'add: width classes in mm, name:upper,…,last', widthClasses)
      .option('--threshold <x>', "add: crack threshold in (0, 1) (default: the model's)", numberBetween(0, 1))
      .option('--tile <n>', 'add: pixels kept per tile, a multiple of 32 (default 640)', multipleOf(32, 128, 4096, 'pixels kept per tile'))
      .option(
        '--margin <n>',
        'add: context pixels on each side of a tile, a multiple of 32 (default 64)',
        multipleOf(32, 0, 512, 'context pixels on each side'),
      )
      .option(
        '--min-length-px <n>',
        "add: cracks shorter than this are dropped as specks (default: the worker's crackMinLengthPx, 40)",
        nonNegativeNumber('pixels'),
      )
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
