// Progress of long CLI work (infer on a folder, build-engine, soak) on stderr: a cli-progress bar
// on a terminal; otherwise (journald, CI, a pipe) a plain line now and then, so a log shows the
// work is alive without a line per step. stdout stays the command's own output.
import cliProgress from 'cli-progress';

export interface Progress {
  /** `done` of `total` units finished; `step` says what is going on now */
  update(done: number, step?: string): void;
  /** when the amount of work is known only after the start */
  setTotal(total: number): void;
  /** A line of the command's own output, printed above the bar on a terminal. */
  log(line: string, to?: NodeJS.WritableStream): void;
  stop(): void;
}

export interface ProgressOptions {
  /** what is being done: "infer", "build-engine", "soak" */
  label: string;
  total: number;
  /** what is counted: "images", "steps", "s" */
  unit: string;
  stream?: NodeJS.WriteStream;
  /** a plain line at most this often when not on a terminal (ms) */
  plainEveryMs?: number;
}

export function startProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  return stream.isTTY ? barProgress(o, stream) : plainProgress(o, stream);
}

function barProgress(o: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const bars = new cliProgress.MultiBar(
    {
      stream,
      format: `${o.label} [{bar}] {value}/{total} ${o.unit} | {duration_formatted} elapsed, eta {eta_formatted} | {step}`,
      hideCursor: true,
      clearOnComplete: true,
      stopOnComplete: false,
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = bars.create(o.total, 0, { step: '' });
  return {
    update: (done, step) => bar.update(done, step === undefined ? undefined : { step }),
    setTotal: (total) => bar.setTotal(total),
    log: (line, to = process.stdout) => {
      // on the same terminal, print above the bar; redirected elsewhere, just write it
      if ((to as NodeJS.WriteStream).isTTY) bars.log(line + '\n');
      else to.write(line + '\n');
    },
    stop: () => bars.stop(),
  };
}

function plainProgress(o: ProgressOptions, stream: NodeJS.WritableStream): Progress {
  const t0 = Date.now();
  let total = o.total;
  let done = 0;
  let step = '';
  // a line every plainEveryMs while the work goes on, also through one long step (trtexec)
  const timer = setInterval(() => {
    const pct = total > 0 ? ` (${Math.round((100 * done) / total)}%)` : '';
    stream.write(`${o.label}: ${done}/${total} ${o.unit}${pct} after ${Math.round((Date.now() - t0) / 1000)} s${step ? `, now: ${step}` : ''}\n`);
  }, o.plainEveryMs ?? 10_000).unref();
  return {
    update: (n, s) => {
      done = n;
      if (s !== undefined) step = s;
    },
    setTotal: (t) => void (total = t),
    log: (line, to = process.stdout) => void to.write(line + '\n'),
    stop: () => clearInterval(timer),
  };
}
