import { Option } from 'commander';
import { defineCommand } from '../program.js';
import { addConfigOptions, configFromOptions } from '../config-options.js';
import { existingFile, intInRange } from './parse.js';

export default defineCommand({
  name: 'bench',
  summary: 'measure every stage: the model alone, then the full service path with WebSocket clients',
  configure: (cmd) =>
    addConfigOptions(cmd)
      .addOption(new Option('--frames <n>', 'frames to measure (after warm-up)').argParser(intInRange(5, 1_000_000)).default(100))
      .addOption(new Option('--clients <k>', 'WebSocket clients on loopback (client 0 measures)').argParser(intInRange(1, 200)).default(1))
      .option('--raw-only', 'only session.run in a loop, no daemon')
      .option('--passthrough', "a model-free stand-in instead of the model (max of R, G, B at the same size): the pipeline's non-model ceiling in fps")
      .option('--daemon <main.js>', "another build's dist/server/cli/main.js as the daemon (before/after comparisons with one bench)", existingFile)
      .option('--json', 'only the JSON object (always the last line of stdout)'),
  run: async ({ opts }) =>
    (await import('../bench.js')).runBench(
      {
        frames: opts.frames as number,
        clients: opts.clients as number,
        rawOnly: opts.rawOnly === true,
        json: opts.json === true,
        fpsGiven: opts.fps !== undefined,
        passthrough: opts.passthrough === true,
        daemon: opts.daemon as string | undefined,
      },
      configFromOptions(opts),
    ),
});
