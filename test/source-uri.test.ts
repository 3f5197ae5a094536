import { describe, expect, it } from 'vitest';
import { SourceUriError } from '../server/camera/frame-source.js';
import { displayUri } from '../server/config/source-uri.js';
import { openSource } from '../server/camera/open-source.js';
import { createLogger } from '../server/log/logger.js';

const g = { width: 640, height: 384, fps: 15 };
const log = createLogger('error', {}, () => undefined);

describe('source URIs', () => {
  it('masks camera credentials wherever a source is shown', () => {
    expect(displayUri('rtsp://admin:s3cret@10.0.0.5:554/stream1')).toBe('rtsp://***@10.0.0.5:554/stream1');
    expect(displayUri('v4l2:///dev/video0')).toBe('v4l2:///dev/video0');
    expect(displayUri('demo://')).toBe('demo://');
  });

  it('picks the mode by scheme: cameras are live, files and patterns are paced', () => {
    expect(openSource('v4l2:///dev/video0', g, { log, stallMs: 1000 }).mode).toBe('live');
    expect(openSource('csi://0', g, { log, stallMs: 1000 }).mode).toBe('live');
    expect(openSource('rtsp://cam/x', g, { log, stallMs: 1000 }).mode).toBe('live');
    expect(openSource('test://smpte', g, { log, stallMs: 1000 }).mode).toBe('paced');
    expect(openSource('demo://', g, { log, stallMs: 1000 }).mode).toBe('paced');
  });

  it('refuses unknown schemes and patterns with a message naming what is allowed', () => {
    expect(() => openSource('gopher://x', g, { log, stallMs: 1000 })).toThrow(SourceUriError);
    expect(() => openSource('gopher://x', g, { log, stallMs: 1000 })).toThrow(/demo, test, file, v4l2, csi, rtsp/);
    expect(() => openSource('test://plaid', g, { log, stallMs: 1000 })).toThrow(/smpte/);
  });
});

describe('malformed camera URIs stop start-up', () => {
  it.each([
    ['test://plaid', /smpte/],
    ['v4l2://dev/video0', /\/dev\/video0/],
    ['csi://front', /sensor number/],
  ])('%s', (uri, re) => {
    expect(() => openSource(uri, g, { log, stallMs: 1000 })).toThrow(SourceUriError);
    expect(() => openSource(uri, g, { log, stallMs: 1000 })).toThrow(re);
  });
});
