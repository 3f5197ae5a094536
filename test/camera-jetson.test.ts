// What the camera code does on a Jetson, checked here without one: the auto:// choice from a fake
// sysfs, the CSI crop and rate, explicit USB caps, NVMM-safe decoding for rtsp:// and video files.
// The crop/caps tails that run in software are also run through the real gst-launch-1.0 with a
// 1280x720 test pattern standing in for the camera.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectSource } from '../server/camera/auto-source.js';
import { cropToAspect } from '../server/camera/crop.js';
import { csiPipeline } from '../server/camera/csi.js';
import { rtspPipeline } from '../server/camera/rtsp.js';
import { v4l2Pipeline } from '../server/camera/v4l2.js';
import { videoFilePipeline } from '../server/camera/video-file.js';
import { loadConfig } from '../server/config/load.js';

const g = { width: 640, height: 384, fps: 15 };
const hasGst = spawnSync('sh', ['-c', 'command -v gst-launch-1.0']).status === 0;

/** A fake /sys/class/video4linux with the given nodes. */
function sysfs(nodes: { n: number; name: string; index?: number; driver?: string }[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-sysfs-'));
  for (const x of nodes) {
    const dir = path.join(root, 'sys/class/video4linux', `video${x.n}`);
    fs.mkdirSync(path.join(dir, 'device'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'name'), `${x.name}\n`);
    fs.writeFileSync(path.join(dir, 'index'), `${x.index ?? 0}\n`);
    if (x.driver) {
      fs.mkdirSync(path.join(root, 'drivers', x.driver), { recursive: true });
      fs.symlinkSync(path.join(root, 'drivers', x.driver), path.join(dir, 'device', 'driver'));
    }
  }
  return root;
}

describe('auto:// picks what is attached', () => {
  it('CSI sensor first (its /dev/video0 is raw Bayer), else the first UVC capture node, else demo://', () => {
    const csiAndUsb = sysfs([
      { n: 0, name: 'vi-output, imx219 9-0010', driver: 'tegra-camrtc-capture-vi' },
      { n: 1, name: 'HD USB Camera: HD USB Camera', driver: 'uvcvideo' },
      { n: 2, name: 'HD USB Camera: HD USB Camera', index: 1, driver: 'uvcvideo' },
    ]);
    expect(detectSource(csiAndUsb).uri).toBe('csi://0');
    // no Argus (nvarguscamerasrc missing): the USB camera, never the Bayer node
    expect(detectSource(csiAndUsb, { hasArgus: false }).uri).toBe('v4l2:///dev/video1');
    const usbOnly = sysfs([
      { n: 0, name: 'Logitech Webcam C270', index: 1, driver: 'uvcvideo' }, // metadata node
      { n: 1, name: 'Logitech Webcam C270', index: 0, driver: 'uvcvideo' },
    ]);
    expect(detectSource(usbOnly).uri).toBe('v4l2:///dev/video1');
    const none = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-sysfs-'));
    expect(detectSource(none)).toEqual({ uri: 'demo://', why: expect.stringMatching(/no camera/) });
  });

  it('auto:// is a valid configured source; the default (npm start) stays demo://', () => {
    expect(loadConfig({ env: { CRACKSCOPE_SOURCE: 'auto://' } }).source).toBe('auto://');
    expect(loadConfig({ env: {} }).source).toBe('demo://');
    const example = fs.readFileSync(path.resolve(import.meta.dirname, '..', 'systemd/crackscope.env.example'), 'utf8');
    expect(example).toMatch(/^CRACKSCOPE_SOURCE=auto:\/\/$/m);
  });
});

describe('camera pipelines', () => {
  it('crops to the model aspect, centred, before scaling', () => {
    expect(cropToAspect(1280, 720, 640, 384)).toEqual({ left: 40, right: 40, top: 0, bottom: 0, width: 1200, height: 720 });
    expect(cropToAspect(640, 480, 640, 384)).toEqual({ left: 0, right: 0, top: 48, bottom: 48, width: 640, height: 384 });
    expect(cropToAspect(640, 384, 640, 384)).toMatchObject({ left: 0, right: 0, top: 0, bottom: 0 });
  });

  it('csi://: Argus at the configured rate (not 30), nvvidconv crops 1280x720 to 1200x720 and scales with square pixels', () => {
    const e = csiPipeline('0', g).elements.join(' ');
    expect(e).toMatch(/video\/x-raw\(memory:NVMM\),width=1280,height=720,framerate=15\/1 !/);
    expect(e).toMatch(/nvvidconv left=40 right=1240 top=0 bottom=720 ! video\/x-raw,format=RGBA,width=640,height=384,pixel-aspect-ratio=1\/1/);
  });

  it('v4l2://: MJPEG 1280x720 asked for explicitly, raw 640x480 on the next attempt, cropped either way', () => {
    const a = v4l2Pipeline('/dev/video1', g, 0).elements.join(' ');
    expect(a).toMatch(/^v4l2src device=\/dev\/video1 ! image\/jpeg,width=1280,height=720,framerate=15\/1 ! jpegdec/);
    expect(a).toMatch(/videocrop left=40 right=40 top=0 bottom=0/);
    const b = v4l2Pipeline('/dev/video1', g, 1).elements.join(' ');
    expect(b).toMatch(/^v4l2src device=\/dev\/video1 ! video\/x-raw,width=640,height=480 !/);
    expect(b).toMatch(/videocrop left=0 right=0 top=48 bottom=48/);
  });

  it('rtsp:// and video files: on a Jetson, nvvidconv after decodebin (NVMM out of nvv4l2decoder); elsewhere not', () => {
    expect(rtspPipeline('rtsp://cam/x', g, true).elements.join(' ')).toMatch(/decodebin ! nvvidconv ! video\/x-raw,format=RGBA ! videoconvert/);
    expect(videoFilePipeline('/v.mp4', g, true).elements.join(' ')).toMatch(/decodebin ! nvvidconv ! video\/x-raw,format=RGBA ! videoconvert/);
    expect(rtspPipeline('rtsp://cam/x', g, false).elements.join(' ')).toMatch(/decodebin ! videoconvert/);
    expect(videoFilePipeline('/v.mp4', g, false).elements.join(' ')).not.toMatch(/nvvidconv/);
  });

  it.skipIf(!hasGst)('the USB tails negotiate in the real gst-launch-1.0 (a 1280x720 / 640x480 pattern for the camera)', () => {
    for (const [attempt, src] of [
      [0, 'videotestsrc num-buffers=3 ! video/x-raw,width=1280,height=720 ! jpegenc'],
      [1, 'videotestsrc num-buffers=3 ! video/x-raw,width=640,height=480'],
    ] as const) {
      const els = v4l2Pipeline('/dev/video9', g, attempt).elements;
      // swap v4l2src (and its caps) for the pattern; keep the rest as the daemon runs it
      const afterSrc = els.slice(els.indexOf('!', els.indexOf('!') + 1));
      const tail = [
        ...afterSrc,
        '!',
        'videoscale',
        'add-borders=true',
        '!',
        'videoconvert',
        '!',
        `video/x-raw,format=RGB,width=${g.width},height=${g.height},pixel-aspect-ratio=1/1`,
        '!',
        'fakesink',
      ];
      const args = ['-q', ...src.split(' '), ...tail];
      const r = spawnSync('gst-launch-1.0', args, { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, `${args.join(' ')}\n${r.stderr}`).toBe(0);
    }
  });
});
