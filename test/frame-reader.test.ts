// The frame reader (server/camera/gst-source.ts) keeps frames aligned when the capture process
// prints text, as NVIDIA's nvarguscamerasrc does with printf ("GST_ARGUS: …", "CONSUMER: …") on
// stdout — the channel that carried frames before issue 17.
//
// A stand-in for gst-launch-1.0 (a small node script) writes numbered frames, each filled with
// its own number, to the descriptor the reader names in `fdsink fd=N`, and between frames writes
// Argus-like text to stdout (fd 1), flushed at odd sizes so it would land mid-frame. Every frame
// the reader delivers must be whole and uniform (one number throughout), numbers in order; the
// text must show up in the log. With frames on fd 1 (the old reader), the first text shifts all
// later frames and the uniformity check fails. The last case runs the real gst-launch-1.0 and
// checks that stop() ends it with SIGINT/EOS, not a kill.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GstSource } from '../server/camera/gst-source.js';
import { createLogger } from '../server/log/logger.js';

const W = 32;
const H = 16;
const FRAME = W * H * 3;

function fakeGst(dir: string, frames: number): string {
  const script = path.join(dir, 'fake-gst-launch.cjs');
  fs.writeFileSync(
    script,
    `#!${process.execPath}
const fs = require('node:fs');
const fdArg = process.argv.find((a) => /^fd=\\d+$/.test(a));
const fd = Number(fdArg.slice(3));
fs.writeFileSync(${JSON.stringify(path.join(dir, 'args.json'))}, JSON.stringify(process.argv.slice(2)));
const text = [
  'GST_ARGUS: Creating output stream\\n',
  'CONSUMER: Waiting until producer is connected...\\n',
  'GST_ARGUS: Available Sensor modes :\\nGST_ARGUS: 3280 x 2464 FR = 21.000000 fps Duration = 47619048 ; Analog Gain range min 1.000000, max 10.625000; Exposure Range min 13000, max 683709000;\\n',
  'NvMMLiteOpen : Block : BlockType = 261 \\n',
];
let i = 0;
const one = () => {
  if (i >= ${frames}) return;
  const f = Buffer.alloc(${FRAME}, (i * 37 + 11) & 255);
  // half a frame, some text on stdout, the other half: the worst place for text on a shared pipe
  fs.writeSync(fd, f, 0, 1000);
  fs.writeSync(1, text[i % text.length]);
  fs.writeSync(fd, f, 1000);
  i++;
  setTimeout(one, 20); // a camera's pace: the reader takes every frame
};
one();
// a camera does not end: stay up until stopped (SIGINT, as gst-launch -e)
process.on('SIGINT', () => process.exit(0));
setInterval(() => undefined, 1000);
`,
    { mode: 0o755 },
  );
  return script;
}

function collect(source: GstSource, n: number, timeoutMs = 10_000): Promise<Buffer[]> {
  const out: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${out.length}/${n} frames; source ${JSON.stringify(source.stats())}`)), timeoutMs);
    const next = () =>
      source.nextFrame().then((f) => {
        out.push(Buffer.from(f.rgb));
        f.release();
        if (out.length >= n) {
          clearTimeout(timer);
          resolve(out);
        } else next();
      }, reject);
    next();
  });
}

describe('frame reader', () => {
  it('frames stay aligned while the capture process prints text on stdout', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-frames-'));
    const lines: string[] = [];
    const log = createLogger('info', {}, (l) => void lines.push(l));
    const source = new GstSource({
      uri: 'csi://0',
      geometry: { width: W, height: H, fps: 30 },
      log,
      stallMs: 5000,
      mode: 'paced',
      spec: () => ({ elements: ['fakesrc'], loops: false }),
      gstLaunch: fakeGst(dir, 12),
    });
    source.start();
    try {
      const frames = await collect(source, 12);
      const firsts = frames.map((f) => f[0]);
      expect(firsts).toEqual(Array.from({ length: 12 }, (_, i) => (i * 37 + 11) & 255));
      for (const [i, f] of frames.entries()) {
        expect(f.length).toBe(FRAME);
        expect(
          f.every((b) => b === f[0]),
          `frame ${i} is not uniform: text got into the frame stream`,
        ).toBe(true);
      }
      const args = JSON.parse(fs.readFileSync(path.join(dir, 'args.json'), 'utf8')) as string[];
      expect(args).toContain('-e'); // EOS on SIGINT
      expect(args.find((a) => a.startsWith('fd='))).not.toBe('fd=1');
      const logged = lines
        .map((l) => JSON.parse(l))
        .filter((r) => r.event === 'source.stdout')
        .map((r) => r.line);
      expect(logged).toContain('GST_ARGUS: Creating output stream');
      expect(logged).toContain('CONSUMER: Waiting until producer is connected...');
    } finally {
      await source.stop();
    }
  });

  it.skipIf(spawnSync('sh', ['-c', 'command -v gst-launch-1.0']).status !== 0)(
    'real gst-launch-1.0: frames on fd 3, stopped with EOS (SIGINT), not killed',
    async () => {
      const lines: string[] = [];
      const log = createLogger('debug', {}, (l) => void lines.push(l));
      const source = new GstSource({
        uri: 'test://ball',
        geometry: { width: 64, height: 32, fps: 30 },
        log,
        stallMs: 5000,
        mode: 'live',
        spec: () => ({ elements: ['videotestsrc', 'pattern=ball', 'is-live=true', '!', 'video/x-raw,framerate=30/1'], loops: false }),
      });
      source.start();
      const frames = await collect(source, 5);
      expect(frames.every((f) => f.length === 64 * 32 * 3)).toBe(true);
      const pid = source.stats().pid!;
      const t0 = Date.now();
      await source.stop();
      // ended by SIGINT/EOS well within the grace period (a kill would come only after it)
      expect(Date.now() - t0).toBeLessThan(1400);
      expect(() => process.kill(pid, 0)).toThrow();
      expect(source.stats().state).toBe('stopped');
    },
  );
});
