// The command line, through commander: one module per command under commands/ declares its
// arguments, options and help, and says what runs it; this file turns commander's outcomes into
// our exit codes (0 help, 64 usage). Config and model errors (exit 78) pass through to main.ts.
import { Command, CommanderError } from 'commander';

/** Wrong use of the command line: the message, a pointer to --help, exit 64 (EX_USAGE). */
export class UsageError extends Error {
  readonly exitCode = 64;
}

export const EX_USAGE = 64;

/** The parsed command line, as commander gives it to the action. */
export interface Invocation<Context = unknown> {
  /** positional arguments (variadic ones flattened) */
  args: string[];
  /** options by camelCase name: --source-stall-ms -> sourceStallMs */
  opts: Record<string, unknown>;
  /** what the caller handed to runCommand (tests pass output sinks and fakes here) */
  context: Context | undefined;
}

export interface CommandSpec<Context = unknown> {
  name: string;
  /** one line for `crackscope --help` */
  summary: string;
  /** arguments, options and longer help; the commander Command is new for every parse */
  configure(cmd: Command): Command;
  /** runs the command; the number is the exit code. Imports the heavy modules lazily. */
  run(call: Invocation<Context>): Promise<number>;
}

export const defineCommand = <Context = unknown>(spec: CommandSpec<Context>) => spec;

/** Commander's exit paths become exceptions, and its messages say which command to ask for help. */
function prepare(cmd: Command, who: string): Command {
  return cmd
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`${who}: ${text}`) })
    .showHelpAfterError(`(see '${who} --help')`)
    .configureHelp({ sortOptions: false, showGlobalOptions: false });
}

function build<C>(spec: CommandSpec<C>, outcome: { code: number }, context?: C): Command {
  const cmd = spec.configure(new Command(spec.name).summary(spec.summary).description(spec.summary));
  prepare(cmd, `crackscope ${spec.name}`);
  return cmd.action(async () => {
    const args = cmd.processedArgs.flat().filter((a): a is string => typeof a === 'string');
    outcome.code = await spec.run({ args, opts: cmd.opts(), context });
  });
}

function exitCodeOf(err: unknown): number | undefined {
  if (err instanceof CommanderError) {
    return err.exitCode === 0 ? 0 : EX_USAGE; // help or --version asked for; anything else is a usage error
  }
  return undefined;
}

/** Parses `argv` (the words after the command name) for one command and runs it. */
export async function runCommand<C>(spec: CommandSpec<C>, argv: string[], context?: C): Promise<number> {
  const outcome = { code: 0 };
  const cmd = build(spec, outcome, context);
  cmd.name(`crackscope ${spec.name}`);
  try {
    await cmd.parseAsync(argv, { from: 'user' });
  } catch (err) {
    return handleUsage(err, `crackscope ${spec.name}`);
  }
  return outcome.code;
}

function handleUsage(err: unknown, who: string): number {
  const code = exitCodeOf(err);
  if (code !== undefined) return code; // commander has printed its message
  if (err instanceof UsageError) {
    process.stderr.write(`${who}: ${err.message}\n(see '${who} --help')\n`);
    return EX_USAGE;
  }
  throw err;
}

/** `crackscope <command> …`: every command in `specs`, with the top-level help listing them. */
export async function runProgram(specs: CommandSpec[], argv: string[], footer: string, version?: string): Promise<number> {
  const program = prepare(new Command('crackscope'), 'crackscope')
    .usage('<command> [options]')
    .addHelpText('after', `\n${footer}`)
    .helpCommand('help [command]', 'help for a command');
  if (version) program.version(version, '-V, --version');
  const outcome = { code: 0 };
  for (const spec of specs) program.addCommand(build(spec, outcome));
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EX_USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    const words = argv.filter((a) => !a.startsWith('-'));
    return handleUsage(err, words[0] && specs.some((s) => s.name === words[0]) ? `crackscope ${words[0]}` : 'crackscope');
  }
  return outcome.code;
}
