// `crackscope serve` as a child process, for what measures or checks the real daemon from outside:
// `bench`, `soak` and the tests (test/helpers/daemon.ts). One way to start it and to know it is
// up: the child's stdout is its JSON log, and its `http.listening` line gives the port it took
// (--port 0 lets the kernel choose, so runs never collide).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** This build's bin (dist/server/cli/main.js), beside this module once compiled. */
export const DAEMON_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.js');

/** One line of the daemon's log, parsed (a line that is not JSON: `{ event: 'non-json-output', line }`). */
export type DaemonLogLine = Record<string, any>;

export interface DaemonLogOptions {
  /** every line is pushed here, for as long as the daemon runs */
  logs?: DaemonLogLine[];
  /** called with every line, for as long as the daemon runs */
  onLog?: (line: DaemonLogLine) => void;
  /** the daemon's stderr so far, for the error messages */
  stderr: () => string;
  /** give up when it has not listened by then (ms); no limit when absent */
  timeoutMs?: number;
}

/**
 * Reads a daemon's stdout as JSON log lines. Resolves with the port of its `http.listening` line;
 * rejects when it exits first or, with `timeoutMs`, does not listen in time. The lines after that
 * keep coming to `logs` / `onLog` (and the pipe keeps being drained).
 */
export function readDaemonLog(child: ChildProcess, o: DaemonLogOptions): Promise<number> {
  let partial = '';
  return new Promise<number>((resolve, reject) => {
    const timer =
      o.timeoutMs === undefined
        ? undefined
        : setTimeout(() => reject(new Error(`daemon did not listen within ${o.timeoutMs! / 1000} s; stderr: ${o.stderr()}`)), o.timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        let rec: DaemonLogLine;
        try {
          rec = JSON.parse(line);
        } catch {
          rec = { event: 'non-json-output', line };
        }
        o.logs?.push(rec);
        o.onLog?.(rec);
        if (rec.event === 'http.listening') {
          clearTimeout(timer);
          resolve(rec.port);
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code ?? signal} before listening; stderr: ${o.stderr()}`));
    });
  });
}

export interface SpawnDaemonOptions extends Omit<DaemonLogOptions, 'stderr'> {
  /** the bin to run: another build's dist/server/cli/main.js (default: this build's) */
  main?: string;
  /** added to this process's environment */
  env?: NodeJS.ProcessEnv;
  /** keep only the last this many characters of stderr (default: all of it) */
  stderrLimit?: number;
}

export interface DaemonChild {
  child: ChildProcess;
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  /** what the daemon wrote on stderr so far */
  stderr(): string;
  /** resolves with the exit code (null after a signal) once the child has exited */
  exited: Promise<number | null>;
  /**
   * Sends `signal` (SIGTERM) and resolves with the exit code; with `killAfterMs`, SIGKILL when it
   * has not exited by then. Resolves at once when it has exited already.
   */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<number | null>;
}

/**
 * Starts `crackscope serve <serveArgs…>` as a child (stdout and stderr piped) and waits for it to
 * listen (60 s by default; then it is killed and this rejects). Pass `--port 0` (or a free port)
 * in serveArgs.
 */
export async function spawnDaemon(serveArgs: string[], o: SpawnDaemonOptions = {}): Promise<DaemonChild> {
  const child = spawn(process.execPath, [o.main ?? DAEMON_MAIN, 'serve', ...serveArgs], {
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
    if (o.stderrLimit !== undefined && err.length > o.stderrLimit) err = err.slice(-o.stderrLimit);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = (signal: NodeJS.Signals = 'SIGTERM', killAfterMs?: number): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill(signal);
    if (killAfterMs === undefined) return exited;
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    return exited.finally(() => clearTimeout(timer));
  };
  let port: number;
  try {
    port = await readDaemonLog(child, { logs: o.logs, onLog: o.onLog, stderr: () => err, timeoutMs: o.timeoutMs ?? 60_000 });
  } catch (e) {
    await stop('SIGKILL');
    throw e;
  }
  return { child, port, url: `http://127.0.0.1:${port}`, stderr: () => err, exited, stop };
}
