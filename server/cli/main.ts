#!/usr/bin/env node
// crackscope <command>: the commands are listed in commands/index.ts. Usage errors exit 64
// (EX_USAGE); config and model errors print one line and exit 78 (EX_CONFIG), which the systemd
// unit does not restart on.
import { ConfigError } from '../config/load.js';
import { ModelError } from '../inference/manifest.js';
import { SourceUriError } from '../camera/frame-source.js';
import { RedisUnavailableError } from '../campaign/errors.js';
import { COMMANDS } from './commands/index.js';
import { runProgram } from './program.js';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/schema.js';

const FOOTER = `Every config key is also a flag (--kebab-case) and an environment variable (CRACKSCOPE_SNAKE_CASE);
'crackscope <command> --help' lists them, 'crackscope config --schema' prints the config file's JSON Schema.`;

const { version } = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };

runProgram(COMMANDS, process.argv.slice(2), FOOTER, version).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof ModelError || err instanceof SourceUriError) {
      process.stderr.write(err.message.split('\n')[0] + '\n');
      process.exit(78);
    }
    if (err instanceof RedisUnavailableError) {
      process.stderr.write(err.message.split('\n')[0] + '\n');
      process.exit(err.exitCode); // 69, EX_UNAVAILABLE
    }
    process.stderr.write(`crackscope: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  },
);
