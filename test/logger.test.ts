// The journal's view of the service: one JSON object per line with our event names, levels as
// words, child fields, errors as their message, and no secret in it whatever a call site logs.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../server/log/logger.js';
import { loadConfig, redactConfig } from '../server/config/load.js';
import { startProgress } from '../server/cli/progress.js';

const capture = (level: Parameters<typeof createLogger>[0] = 'debug') => {
  const lines: string[] = [];
  return { log: createLogger(level, { service: 'crackscope' }, (l) => lines.push(l)), lines, records: () => lines.map((l) => JSON.parse(l)) };
};

describe('logger (pino)', () => {
  it('one JSON line per event: level, time, event name, base and child fields', () => {
    const { log, lines, records } = capture();
    log.child({ component: 'pipeline' }).warn('source.restart', { reason: 'exit 1', attempt: 2 });
    log.error('http.error', { err: new Error('disk full\nsecond line') });
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    const [a, b] = records();
    expect(a).toMatchObject({ level: 'warn', service: 'crackscope', component: 'pipeline', event: 'source.restart', reason: 'exit 1', attempt: 2 });
    expect(Date.parse(a.t)).toBeGreaterThan(Date.now() - 60_000);
    expect(b).toMatchObject({ level: 'error', event: 'http.error', err: 'disk full\nsecond line' });
    expect(Object.keys(a)).not.toContain('msg');
  });

  it('drops events below its level', () => {
    const { log, records } = capture('warn');
    log.debug('a');
    log.info('b');
    log.warn('c');
    expect(records().map((r) => r.event)).toEqual(['c']);
  });

  it('a secret never reaches the log, wherever a record carries it', () => {
    const token = 'field-tablet-secret-0123456789';
    const { log, lines } = capture();
    const config = loadConfig({ env: { CRACKSCOPE_ADMIN_TOKEN: token, CRACKSCOPE_SOURCE: 'rtsp://cam:hunter2@10.0.0.5/live' } });
    log.info('service.start', { config: redactConfig(config) });
    log.info('oops.raw_config', { config }); // a careless call site
    log.info('oops.token', { adminToken: token, request: { headers: { authorization: `Bearer ${token}` } } });
    log.child({ adminToken: token }).info('oops.child');
    const text = lines.join('');
    expect(text).not.toContain(token);
    expect(text).not.toContain('hunter2');
    const start = JSON.parse(lines[0]);
    expect(start.config.adminToken).toBe('(set)');
    expect(start.config.source).toBe('rtsp://***@10.0.0.5/live');
    expect(start.config.port).toBe(8080); // the rest is there
  });
});

describe('progress of long CLI work', () => {
  it('not on a terminal: a plain line now and then with done/total and the step', async () => {
    const stream = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream;
    let text = '';
    (stream as unknown as PassThrough).on('data', (d) => (text += d));
    const p = startProgress({ label: 'infer', total: 4, unit: 'images', stream, plainEveryMs: 20 });
    p.update(1, 'wall-03.jpg');
    await new Promise((r) => setTimeout(r, 120));
    p.stop();
    const after = text;
    await new Promise((r) => setTimeout(r, 60));
    expect(text).toBe(after); // stopped means silent
    expect(text).toMatch(/^infer: 1\/4 images \(25%\) after \d+ s, now: wall-03\.jpg$/m);
    expect(text).not.toMatch(/\x1b\[/); // no terminal escapes in a log
  });

  it("on a terminal: a bar that redraws in place, and the command's lines above it", async () => {
    const stream = Object.assign(new PassThrough(), {
      isTTY: true,
      columns: 100,
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
    }) as unknown as NodeJS.WriteStream;
    let text = '';
    (stream as unknown as PassThrough).on('data', (d) => (text += d));
    const p = startProgress({ label: 'infer', total: 4, unit: 'images', stream });
    p.update(2, 'wall-03.jpg');
    p.log('wall-02.jpg: 1 crack', stream);
    await new Promise((r) => setTimeout(r, 250));
    p.stop();
    expect(text).toMatch(/infer \[[█░]+\] 2\/4 images/);
    expect(text).toContain('wall-03.jpg');
    expect(text).toContain('wall-02.jpg: 1 crack\n');
  });
});
