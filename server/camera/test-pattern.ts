// test://[pattern] — GStreamer's generated test pattern (videotestsrc), e.g. test://ball, test://smpte.
import type { FrameGeometry, GstPipelineSpec } from './frame-source.js';

const PATTERNS = new Set(['smpte', 'ball', 'snow', 'checkers-8', 'circular', 'gradient', 'pinwheel', 'bar', 'colors']);

export function testPatternPipeline(url: URL, g: FrameGeometry): GstPipelineSpec {
  const pattern = url.host || 'ball';
  if (!PATTERNS.has(pattern)) throw new Error(`test:// pattern ${JSON.stringify(pattern)} unknown; use one of ${[...PATTERNS].join(', ')}`);
  return {
    elements: ['videotestsrc', `pattern=${pattern}`, 'is-live=false', '!', `video/x-raw,framerate=${fraction(g.fps)}`],
    loops: false,
  };
}

export function fraction(fps: number): string {
  return Number.isInteger(fps) ? `${fps}/1` : `${Math.round(fps * 1000)}/1000`;
}
