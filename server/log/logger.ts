// One JSON object per line on stdout (journald keeps them), written by pino. No other console
// output anywhere. Call sites name an event and its fields: log.info('ws.connect', { clients }) ->
// {"level":"info","t":"2026-…Z","service":"crackscope","event":"ws.connect","clients":3}
import pino from 'pino';
import { displayUri } from '../config/source-uri.js';
import { SECRET_KEYS } from '../config/schema.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/**
 * Secrets that must never reach the journal, wherever our records carry them: the config's secret
 * keys (top level, in a logged config), HTTP credentials, and the user:password a camera URI may
 * hold. Named paths, no wildcards: wildcard redaction costs pino ~9 µs a line, named paths ~0.
 */
const SECRET_PATHS = [
  ...SECRET_KEYS.flatMap((k) => [k, `config.${k}`]),
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  'token',
  'password',
];
const URI_PATHS = ['source', 'uri', 'config.source'];
export const REDACT_PATHS = [...SECRET_PATHS, ...URI_PATHS];

/** A redacted value in the log: what kind of thing was there (a URI without its password), not what it was. */
const censor = (value: unknown, path: string[]) => {
  if (URI_PATHS.some((p) => p.endsWith(path.at(-1)!)) && typeof value === 'string') return displayUri(value);
  return value === '' || value === '(none)' ? '(none)' : '(set)';
};

/** Errors are logged as their message (one line), as before pino. */
const errMessage = (err: unknown) => (err instanceof Error ? err.message : err);

export function createLogger(level: LogLevel = 'info', base: Record<string, unknown> = {}, write?: (line: string) => void): Logger {
  const destination = write ? { write } : pino.destination({ fd: 1, sync: true });
  const p = pino(
    {
      level,
      base,
      timestamp: () => `,"t":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: errMessage },
      redact: { paths: REDACT_PATHS, censor },
    },
    destination,
  );
  return wrap(p);
}

const NOOP = () => undefined;

/** Our call shape on pino's; a level below the logger's costs one no-op call (the level is fixed). */
function wrap(p: pino.Logger): Logger {
  const at = (level: LogLevel) => (p.isLevelEnabled(level) ? (event: string, fields?: Record<string, unknown>) => p[level]({ event, ...fields }) : NOOP);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (fields) => wrap(p.child(fields)) };
}
