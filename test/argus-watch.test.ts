// deploy/jetson/argus-watch.sh (run every minute by crackscope-argus-watch.timer as root): restarts
// nvargus-daemon only when a csi:// source has been down for the configured minutes, against a
// stand-in /healthz and a stand-in systemctl that records what it was asked.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const SCRIPT = path.resolve(import.meta.dirname, '..', 'deploy/jetson/argus-watch.sh');
let health: Record<string, unknown> = {};
let server: http.Server;
let port = 0;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-argus-'));
const calls = path.join(dir, 'systemctl-calls');
const state = path.join(dir, 'state');

async function watch(url = `http://127.0.0.1:${port}/healthz`) {
  const r = await run('bash', [SCRIPT], {
    env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}`, CRACKSCOPE_HEALTHZ_URL: url, CRACKSCOPE_ARGUS_STATE: state, CRACKSCOPE_ARGUS_DOWN_MIN: '3' },
  });
  return { out: r.stdout, restarts: fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean) : [] };
}

describe.skipIf(!fs.existsSync('/usr/bin/curl'))('argus-watch.sh', () => {
  beforeAll(async () => {
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.writeFileSync(path.join(dir, 'bin', 'systemctl'), `#!/bin/sh\necho "$*" >> '${calls}'\n`, { mode: 0o755 });
    server = http.createServer((_q, res) =>
      res.writeHead(health.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(health)),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => server.close());

  it('counts a csi:// source down from its first sighting, restarts nvargus-daemon after the limit, once', async () => {
    health = { status: 'source-down', source: 'csi://0', reason: 'no data from the capture process for 5.0 s' };
    let r = await watch();
    expect(r.out).toMatch(/csi:\/\/0 down for \d+ s .*restarted after 180 s/);
    expect(r.restarts).toEqual([]);
    fs.writeFileSync(path.join(state, 'down-since'), `${Math.floor(Date.now() / 1000) - 200}\n`); // down for 200 s
    r = await watch();
    expect(r.out).toMatch(/has been down for 20\d s .*restarting nvargus-daemon/);
    expect(r.restarts).toEqual(['restart nvargus-daemon.service']);
    expect(fs.existsSync(path.join(state, 'down-since'))).toBe(false); // counting starts again
    r = await watch();
    expect(r.restarts).toHaveLength(1);
  });

  it('does nothing for a live camera, a non-CSI source, or a daemon that does not answer', async () => {
    fs.rmSync(calls, { force: true });
    fs.writeFileSync(path.join(state, 'down-since'), `${Math.floor(Date.now() / 1000) - 1000}\n`);
    health = { status: 'ok', source: 'csi://0' };
    await watch();
    expect(fs.existsSync(path.join(state, 'down-since'))).toBe(false);
    health = { status: 'source-down', source: 'v4l2:///dev/video1' };
    fs.writeFileSync(path.join(state, 'down-since'), `${Math.floor(Date.now() / 1000) - 1000}\n`);
    expect((await watch()).restarts).toEqual([]);
    expect((await watch('http://127.0.0.1:1/healthz')).out).toMatch(/not answering/);
    expect(fs.existsSync(calls)).toBe(false);
  });
});
