import { defineCommand } from '../program.js';
import { addConfigOptions } from '../config-options.js';
import { intInRange, ipAddress } from './parse.js';

export default defineCommand({
  name: 'worker',
  summary: 'take survey jobs of every campaign from Redis (BullMQ) and run them; any number of workers on any number of machines',
  configure: (cmd) =>
    addConfigOptions(cmd)
      .requiredOption('--redis <url>', 'the Redis server of the campaigns: redis://[user:password@]host[:port][/db]')
      .option('--concurrency <n>', 'surveys at once (each with its own model session; the cores are split between them)', intInRange(1, 64), 1)
      .option('--metrics-port <n>', 'serve /metrics (and /healthz) on this port', intInRange(0, 65535))
      .option('--metrics-listen <addr>', 'address for --metrics-port (default 127.0.0.1)', ipAddress)
      .option(
        '--lock-ms <n>',
        "how long a job stays locked without renewal; a killed worker's job is taken up again after it (default 60000)",
        intInRange(1000, 3_600_000),
      )
      .addHelpText(
        'after',
        '\nSIGTERM or Ctrl-C: the running surveys finish, then the worker exits 0 (a second signal stops at once). Exit 69: Redis unusable.',
      ),
  run: async ({ opts }) => (await import('../campaign.js')).runWorker(opts),
});
