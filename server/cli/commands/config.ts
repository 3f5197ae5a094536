import { defineCommand } from '../program.js';
import { addConfigOptions, configFromOptions } from '../config-options.js';
import { configFileJsonSchema } from '../../config/schema.js';
import { redactConfig } from '../../config/load.js';

export default defineCommand({
  name: 'config',
  summary: 'print the config the service would run with (secrets masked), or with --schema its JSON Schema',
  configure: (cmd) => addConfigOptions(cmd).option('--schema', 'print the JSON Schema of a config file instead'),
  run: async ({ opts }) => {
    const out = opts.schema ? configFileJsonSchema() : redactConfig(configFromOptions(opts));
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return 0;
  },
});
