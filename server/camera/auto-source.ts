// auto:// — the camera that is attached: a Jetson CSI sensor if there is one, else the first USB
// (UVC) camera, else demo://. Read from sysfs, once at start; the choice is logged.
//
// On a Jetson with a CSI sensor, /dev/video0 is the sensor's raw Bayer node ("vi-output, imx219
// 9-0010"), which v4l2src cannot use: CSI goes through nvarguscamerasrc (csi://N), and a USB
// camera is then /dev/video1 or later. A UVC camera also makes a second, metadata-only node
// (index 1), which is skipped.
import fs from 'node:fs';
import path from 'node:path';

export const AUTO_SOURCE = 'auto://';

export interface AutoChoice {
  uri: string;
  why: string;
}

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Picks a source from what sysfs shows. `root` is '/' on a device; tests pass a fake tree. */
export function detectSource(root = '/', opts: { hasArgus?: boolean } = {}): AutoChoice {
  const dir = path.join(root, 'sys/class/video4linux');
  let nodes: string[] = [];
  try {
    nodes = fs
      .readdirSync(dir)
      .filter((n) => /^video\d+$/.test(n))
      .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  } catch {
    /* no V4L2 at all */
  }
  const info = nodes.map((n) => {
    const base = path.join(dir, n);
    let driver = '';
    try {
      driver = path.basename(fs.readlinkSync(path.join(base, 'device', 'driver')));
    } catch {
      /* no driver link */
    }
    return { node: n, name: read(path.join(base, 'name')) ?? '', index: Number(read(path.join(base, 'index')) ?? '0'), driver };
  });
  const csi = info.filter((i) => /^vi-output/i.test(i.name));
  const hasArgus = opts.hasArgus ?? true;
  if (csi.length && hasArgus) return { uri: 'csi://0', why: `CSI sensor ${csi[0].name} (/dev/${csi[0].node}) through nvarguscamerasrc` };
  const usb = info.find((i) => !/^vi-output/i.test(i.name) && i.index === 0 && (i.driver === 'uvcvideo' || i.driver === ''));
  if (usb) return { uri: `v4l2:///dev/${usb.node}`, why: `V4L2 camera ${usb.name || usb.node}${usb.driver ? ` (${usb.driver})` : ''}` };
  return {
    uri: 'demo://',
    why: nodes.length
      ? `no usable camera among ${nodes.map((n) => `/dev/${n}`).join(', ')}: the bundled demo sequence`
      : 'no camera attached: the bundled demo sequence',
  };
}
