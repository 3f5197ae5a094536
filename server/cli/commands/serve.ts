import { defineCommand } from '../program.js';
import { addConfigOptions, configFromOptions } from '../config-options.js';

export default defineCommand({
  name: 'serve',
  summary: 'run the daemon: camera -> model -> WebSocket kiosk on http://127.0.0.1:8080/',
  configure: (cmd) => addConfigOptions(cmd),
  run: async ({ opts }) => (await import('../serve.js')).serve(configFromOptions(opts)),
});
