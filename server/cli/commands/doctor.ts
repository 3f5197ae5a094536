import { Option } from 'commander';
import { defineCommand } from '../program.js';
import { addConfigOptions } from '../config-options.js';
import { intInRange } from './parse.js';

export default defineCommand({
  name: 'doctor',
  summary: 'checks this device for the service: GPU nodes, CUDA/TensorRT sessions, engine, source, state dir, kiosk WebGL, power mode, versions',
  configure: (cmd) =>
    addConfigOptions(cmd)
      .addHelpText(
        'after',
        '\nOn a device run it as the service user with the site settings: sudo -u crackscope crackscope doctor\nExit 0 only when every check that applies passes.',
      )
      .option('--json', 'one JSON object on the last line of stdout')
      .option('--no-browser', 'skip starting the kiosk browser')
      .addOption(new Option('--probe-ms <n>', 'how long the source probe waits for a frame').argParser(intInRange(500, 60_000)).default(2000)),
  run: async ({ opts }) => (await import('../doctor.js')).runDoctor(opts),
});
