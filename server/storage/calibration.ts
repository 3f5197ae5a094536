// Pixel → millimetre calibration, one entry per source URI, kept in <dataDir>/calibration.json and
// replaced atomically. Pixels are MASK pixels (the space crack measurement works in).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import { DiskFullError, isDiskFull, writeFileAtomic } from './atomic.js';

export interface Calibration {
  /** millimetres per mask pixel */
  mmPerPx: number;
  /** how it was set: two points in mask pixels and the distance between them */
  points?: [[number, number], [number, number]];
  distanceMm?: number;
  mask?: { width: number; height: number };
  updatedAt: string;
}

interface CalibrationFile {
  version: 1;
  sources: Record<string, Calibration>;
}

export class CalibrationError extends Error {
  readonly code = 'bad-calibration';
}

const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);

/** Checks a PUT body; returns the calibration to store. Accepts {mmPerPx} or {points, distanceMm}. */
export function parseCalibrationInput(body: unknown): Omit<Calibration, 'updatedAt'> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CalibrationError('body must be a JSON object');
  const b = body as Record<string, unknown>;
  const mask =
    typeof b.mask === 'object' && b.mask !== null && finite((b.mask as any).width) && finite((b.mask as any).height)
      ? { width: (b.mask as any).width as number, height: (b.mask as any).height as number }
      : undefined;
  if (b.points !== undefined || b.distanceMm !== undefined) {
    const pts = b.points;
    if (
      !Array.isArray(pts) ||
      pts.length !== 2 ||
      !pts.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => finite(v) && v >= -1e6 && v <= 1e6))
    ) {
      throw new CalibrationError('points must be two [x, y] pairs of numbers (mask pixels)');
    }
    const d = b.distanceMm;
    if (!finite(d) || d <= 0 || d > 1e6) throw new CalibrationError('distanceMm must be a positive number of millimetres');
    const [[x0, y0], [x1, y1]] = pts as [[number, number], [number, number]];
    const px = Math.hypot(x1 - x0, y1 - y0);
    if (px < 2) throw new CalibrationError('the two points must be at least 2 pixels apart');
    return {
      mmPerPx: d / px,
      points: [
        [x0, y0],
        [x1, y1],
      ],
      distanceMm: d,
      ...(mask ? { mask } : {}),
    };
  }
  const m = b.mmPerPx;
  if (!finite(m) || m <= 0 || m > 1e4) throw new CalibrationError('mmPerPx must be a positive number (or give points and distanceMm)');
  return { mmPerPx: m, ...(mask ? { mask } : {}) };
}

export class CalibrationStore {
  readonly file: string;
  private data: CalibrationFile = { version: 1, sources: {} };
  private loaded = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    dataDir: string,
    private readonly log: Logger,
  ) {
    this.file = path.join(dataDir, 'calibration.json');
  }

  private async load(): Promise<void> {
    if (this.loaded) return;
    try {
      const parsed = JSON.parse(await fs.readFile(this.file, 'utf8'));
      if (parsed && typeof parsed === 'object' && parsed.sources && typeof parsed.sources === 'object') {
        this.data = { version: 1, sources: {} };
        for (const [k, v] of Object.entries(parsed.sources as Record<string, any>)) {
          if (v && finite(v.mmPerPx) && v.mmPerPx > 0) this.data.sources[k] = v as Calibration;
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log.warn('calibration.unreadable', { file: this.file, err: (err as Error).message, action: 'starting without calibration' });
      }
    }
    this.loaded = true;
  }

  async get(source: string): Promise<Calibration | null> {
    await this.load();
    return this.data.sources[source] ?? null;
  }

  async all(): Promise<Record<string, Calibration>> {
    await this.load();
    return { ...this.data.sources };
  }

  set(source: string, cal: Omit<Calibration, 'updatedAt'>): Promise<Calibration> {
    const run = async () => {
      await this.load();
      const entry: Calibration = { ...cal, updatedAt: new Date().toISOString() };
      const next: CalibrationFile = { version: 1, sources: { ...this.data.sources, [source]: entry } };
      try {
        await writeFileAtomic(this.file, JSON.stringify(next, null, 2) + '\n');
      } catch (err) {
        if (isDiskFull(err)) throw new DiskFullError('the calibration', err);
        throw err;
      }
      this.data = next;
      this.log.info('calibration.saved', { source, mmPerPx: entry.mmPerPx });
      return entry;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => {});
    return p;
  }

  remove(source: string): Promise<void> {
    const run = async () => {
      await this.load();
      if (!(source in this.data.sources)) return;
      const sources = { ...this.data.sources };
      delete sources[source];
      const next: CalibrationFile = { version: 1, sources };
      await writeFileAtomic(this.file, JSON.stringify(next, null, 2) + '\n');
      this.data = next;
      this.log.info('calibration.removed', { source });
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => {});
    return p;
  }
}
