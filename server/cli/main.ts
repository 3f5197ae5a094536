#!/usr/bin/env node
// crackscope <command>: serve | bench | infer | build-engine | soak. Config and model errors print one line
// and exit 78 (EX_CONFIG), which the systemd unit does not restart on.
import { ConfigError } from '../config/load.js';
import { ModelError } from '../inference/manifest.js';
import { SourceUriError } from '../camera/frame-source.js';

const USAGE = `usage: crackscope <command> [options]
  serve [--source URI] [--port N] [--listen ADDR] [--model NAME|PATH] [--config FILE] …   run the daemon
  bench [--frames N] [--json] [--clients K] [--raw-only] [--source URI]                 measure every stage
  infer <image|folder> [--out DIR] [--json] [--threshold X] [--mm-per-px X]              masks and crack reports for still images
  build-engine [--model NAME] [--skip-trtexec --engine FILE] [--int8 --calib DIR]        TensorRT FP16 engine + EPContext wrapper (Jetson)
  soak --minutes N [--clients K]                                                         the full path for N minutes: RSS, heap, handles
Every config key is also a flag (--kebab-case) and an environment variable (CRACKSCOPE_SNAKE_CASE); see README.md.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return (await import('./serve.js')).serveCommand(rest);
    case 'bench':
      return (await import('./bench.js')).benchCommand(rest);
    case 'infer':
      return (await import('./infer.js')).inferCommand(rest);
    case 'soak': return (await import('./soak.js')).soakCommand(rest);
    case 'build-engine':
      return (await import('./build-engine.js')).buildEngineCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return command === undefined ? 64 : 0;
    default:
      process.stderr.write(`crackscope: unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
      return 64;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof ModelError || err instanceof SourceUriError) {
      process.stderr.write(err.message.split('\n')[0] + '\n');
      process.exit(78);
    }
    process.stderr.write(`crackscope: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  },
);
