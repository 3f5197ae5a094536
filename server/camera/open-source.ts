// Turns a source URI into a FrameSource: one backend module per scheme, as jetson-utils' videoSource.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../config/schema.js';
import { isImageFile, LIVE_IMAGE_EXTENSIONS } from '../config/image-files.js';
import type { Logger } from '../log/logger.js';
import { AUTO_SOURCE, detectSource } from './auto-source.js';
import { csiPipeline } from './csi.js';
import type { FrameGeometry, FrameSource, GstPipelineSpec } from './frame-source.js';
import { SourceUriError } from './frame-source.js';
import { GstSource } from './gst-source.js';
import { imageFolderPipeline } from './image-folder.js';
import { rtspPipeline } from './rtsp.js';
import { testPatternPipeline } from './test-pattern.js';
import { v4l2Pipeline } from './v4l2.js';
import { videoFilePipeline } from './video-file.js';

export const DEMO_DIR = path.join(PROJECT_ROOT, 'models', 'demo');

function specFor(uri: string, g: FrameGeometry): () => GstPipelineSpec | Promise<GstPipelineSpec> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new SourceUriError(`source ${JSON.stringify(uri)} is not a URI (try demo://, test://, file:///path, v4l2:///dev/video0, csi://0, rtsp://host/path)`);
  }
  switch (url.protocol) {
    case 'demo:':
      return () => imageFolderPipeline(DEMO_DIR, g);
    case 'test:':
      return validated(() => testPatternPipeline(url, g));
    case 'file:': {
      const file = fileURLToPath(url);
      const isImageOrDir = (p: string) => (fs.existsSync(p) && fs.statSync(p).isDirectory()) || p.endsWith('/') || isImageFile(p, LIVE_IMAGE_EXTENSIONS);
      // remember what the path was: a folder that is deleted (a USB stick pulled) is reported as a missing folder
      let folder = isImageOrDir(file);
      return () => {
        if (fs.existsSync(file)) folder = isImageOrDir(file);
        return folder ? imageFolderPipeline(file, g) : videoFilePipeline(file, g);
      };
    }
    case 'v4l2:': {
      validated(() => v4l2Pipeline(url.pathname, g));
      let attempt = 0; // MJPEG 1280x720 first, raw 640x480 after a failure, and so on
      return () => v4l2Pipeline(url.pathname, g, attempt++);
    }
    case 'csi:':
      return validated(() => csiPipeline(url.host, g));
    case 'rtsp:':
    case 'rtsps:':
      return () => rtspPipeline(uri, g);
    default:
      throw new SourceUriError(`source scheme ${url.protocol} is not supported (demo, test, file, v4l2, csi, rtsp)`);
  }
}

/** Builds a pure (side-effect free) spec once now, so a malformed URI stops start-up (exit 78) instead of retrying forever. */
function validated(build: () => GstPipelineSpec): () => GstPipelineSpec {
  try {
    build();
  } catch (err) {
    throw new SourceUriError(`config error: source: ${(err as Error).message}`);
  }
  return build;
}

export function openSource(uri: string, geometry: FrameGeometry, opts: { log: Logger; stallMs: number }): FrameSource {
  if (uri === AUTO_SOURCE) uri = detectSource().uri; // serve resolves (and logs) it first; bench and soak land here
  const spec = specFor(uri, geometry);
  return new GstSource({
    uri,
    geometry,
    spec,
    mode: /^(v4l2|csi|rtsps?):/.test(uri) ? 'live' : 'paced',
    log: opts.log.child({ component: 'source' }),
    stallMs: opts.stallMs,
  });
}
