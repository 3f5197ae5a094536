import { Option } from 'commander';
import { defineCommand } from '../program.js';
import { intInRange, numberAbove, sourceUri } from './parse.js';

export default defineCommand({
  name: 'soak',
  summary: 'the full path for N minutes with slow and reconnecting viewers: RSS, heap, handles',
  configure: (cmd) =>
    cmd
      .addOption(new Option('--minutes <n>', 'how long').argParser(numberAbove(0, 24 * 60)).default(10))
      .addOption(new Option('--clients <k>', 'viewers (every other one slow, one reconnecting)').argParser(intInRange(0, 200)).default(4))
      .option('--source <uri>', 'camera source for the daemon', sourceUri, 'demo://')
      .option('--json', 'only the JSON object (always the last line of stdout)')
      .argument('[serve-flags...]', 'after --: more flags for the daemon (crackscope serve --help)'),
  run: async ({ args, opts }) =>
    (await import('../soak.js')).runSoak({
      minutes: opts.minutes as number,
      clients: opts.clients as number,
      source: opts.source as string,
      json: opts.json === true,
      extra: args,
    }),
});
