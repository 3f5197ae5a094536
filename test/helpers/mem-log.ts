// A logger that keeps its lines in memory: `lines` parsed, `raw` as written (for checks that a
// secret never reaches the text). Shared by the in-process storage, capture and promise tests.
import { createLogger } from '../../server/log/logger.js';

export function memLog() {
  const lines: any[] = [];
  const raw: string[] = [];
  return { log: createLogger('debug', {}, (l) => (raw.push(l), lines.push(JSON.parse(l)))), lines, raw };
}
