// The survey view: a whole mural or wall at any zoom. The picture comes from the survey's
// deep-zoom pyramid (DZI tiles made by libvips, fetched as the view needs them, the overview
// under them while they load); the crack map (GeoJSON, image pixels) is drawn on top, coloured
// by width class; a tap on a crack shows its measurements. Pan, pinch, wheel, double-tap reset
// and inertia are the live view's own (gestures.ts, viewstate.ts). Canvas 2D: a few hundred
// tiles and lines a frame is light work, and the live view's WebGL context is left alone.
import { $, setOn, show, toast } from './dom.js';
import { Gestures } from './gestures.js';
import { t, unit } from './i18n.js';
import { clampView, fitScale, imageToScreen, resetView, scaleOf, screenToImage, type Geometry, type ViewState } from './viewstate.js';

import type { SurveySummary } from './api.js';

interface Feature {
  id: string;
  crack: number;
  line: [number, number][];
  props: Record<string, any>;
  color: string;
}

interface Dzi {
  width: number;
  height: number;
  tileSize: number;
  overlap: number;
  format: string;
  maxLevel: number;
}

export const surveyUrl = (name: string, file: string) => `api/surveys/${encodeURIComponent(name)}/${file}`;

const MAX_TILES = 400;
const HIT_PX = 16;
const UNCALIBRATED = '#ff00ff';

export class SurveyView {
  private readonly canvas = $<HTMLCanvasElement>('survey-canvas');
  private readonly ctx2d = this.canvas.getContext('2d')!;
  readonly view: ViewState = { zoom: 1, panX: 0, panY: 0 };
  readonly geom: Geometry = { vw: 1, vh: 1, iw: 1, ih: 1 };
  private gestures: Gestures;
  private survey: SurveySummary | null = null;
  private dzi: Dzi | null = null;
  private overview: HTMLImageElement | null = null;
  private features: Feature[] = [];
  private tiles = new Map<string, { img: HTMLImageElement; ok: boolean; used: number }>();
  private frame = 0;
  private drawCount = 0;
  selected: Feature | null = null;
  showMap = true;
  /** for tests and diagnostics */
  readonly stats = { draws: 0, tilesDrawn: 0, tilesLoaded: 0, level: 0 };

  constructor(private readonly onClose: () => void) {
    this.gestures = new Gestures(this.canvas, this.view, this.geom, {
      changed: () => this.requestDraw(),
      tap: (x, y) => this.tap(x, y),
      interacted: () => {},
    });
    $('survey-close').addEventListener('click', () => this.close());
    $('survey-map').addEventListener('click', () => {
      this.showMap = !this.showMap;
      setOn($('survey-map'), this.showMap);
      this.requestDraw();
    });
    window.addEventListener('resize', () => this.visible && this.resize());
  }

  get visible(): boolean {
    return !$('survey').classList.contains('hidden');
  }

  get name(): string | null {
    return this.survey?.name ?? null;
  }

  async open(s: SurveySummary): Promise<void> {
    this.survey = s;
    this.selected = null;
    this.features = [];
    this.tiles.clear();
    this.dzi = null;
    $('survey-title').textContent = `${s.name} · ${s.width}×${s.height}`;
    $<HTMLAnchorElement>('survey-report').href = surveyUrl(s.name, 'report.html');
    this.renderInfo();
    show($('survey'), true);
    this.geom.iw = s.width;
    this.geom.ih = s.height;
    resetView(this.view);
    this.resize();
    try {
      const [dziText, geo] = await Promise.all([
        fetch(surveyUrl(s.name, 'dzi/image.dzi')).then((r) => {
          if (!r.ok) throw new Error(`image.dzi: HTTP ${r.status}`);
          return r.text();
        }),
        fetch(surveyUrl(s.name, 'crackmap.geojson')).then((r) => {
          if (!r.ok) throw new Error(`crackmap.geojson: HTTP ${r.status}`);
          return r.json();
        }),
      ]);
      this.dzi = parseDzi(dziText);
      const colours = new Map<string, string>((geo.crackscope?.width_classes ?? []).map((c: any) => [c.name, c.color]));
      // bridged gaps (`inferred`, issue 20) have no width to show: the map here draws what was seen
      this.features = (geo.features ?? [])
        .filter((f: any) => !f.properties?.inferred)
        .map((f: any) => ({
          id: String(f.properties.id),
          crack: f.properties.crack,
          line: f.geometry.coordinates,
          props: f.properties,
          color: colours.get(f.properties.width_class) ?? UNCALIBRATED,
        }));
      const ov = new Image();
      ov.onload = () => this.requestDraw();
      ov.src = surveyUrl(s.name, 'overview.jpg');
      this.overview = ov;
    } catch (err) {
      toast(`${s.name}: ${(err as Error).message}`, true);
    }
    this.requestDraw();
  }

  close(): void {
    show($('survey'), false);
    this.tiles.clear();
    this.survey = null;
    this.onClose();
  }

  private resize(): void {
    const dpr = window.devicePixelRatio || 1;
    this.geom.vw = window.innerWidth;
    this.geom.vh = window.innerHeight;
    this.canvas.width = Math.round(this.geom.vw * dpr);
    this.canvas.height = Math.round(this.geom.vh * dpr);
    clampView(this.view, this.geom);
    this.requestDraw();
  }

  requestDraw(): void {
    if (!this.frame)
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.draw();
      });
  }

  /** The pyramid level whose pixels are at least as fine as the screen's. */
  private level(): number {
    const d = this.dzi!;
    const s = scaleOf(this.view, this.geom) * (window.devicePixelRatio || 1);
    return Math.max(0, Math.min(d.maxLevel, d.maxLevel - Math.floor(Math.log2(1 / Math.max(s, 1e-9)))));
  }

  private tile(level: number, col: number, row: number) {
    const key = `${level}/${col}_${row}`;
    let t = this.tiles.get(key);
    if (!t) {
      const img = new Image();
      t = { img, ok: false, used: 0 };
      const entry = t;
      img.onload = () => {
        entry.ok = true;
        this.stats.tilesLoaded++;
        this.requestDraw();
      };
      img.src = surveyUrl(this.survey!.name, `dzi/image_files/${key}.${this.dzi!.format}`);
      this.tiles.set(key, t);
      if (this.tiles.size > MAX_TILES) {
        const old = [...this.tiles.entries()].sort((a, b) => a[1].used - b[1].used).slice(0, this.tiles.size - MAX_TILES);
        for (const [k] of old) this.tiles.delete(k);
      }
    }
    t.used = this.drawCount;
    return t;
  }

  private draw(): void {
    const c = this.ctx2d,
      dpr = window.devicePixelRatio || 1,
      g = this.geom,
      v = this.view;
    this.drawCount++;
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.fillStyle = '#111';
    c.fillRect(0, 0, g.vw, g.vh);
    if (!this.survey) return;
    const s = scaleOf(v, g);
    const [ox, oy] = imageToScreen(v, g, 0, 0);
    c.imageSmoothingEnabled = s < 2;
    if (this.overview?.complete && this.overview.naturalWidth) c.drawImage(this.overview, ox, oy, g.iw * s, g.ih * s);
    let drawn = 0;
    if (this.dzi) {
      const d = this.dzi,
        L = this.level();
      this.stats.level = L;
      const f = 2 ** (d.maxLevel - L); // image px per level px
      const lw = Math.ceil(d.width / f),
        lh = Math.ceil(d.height / f);
      const [ix0, iy0] = screenToImage(v, g, 0, 0),
        [ix1, iy1] = screenToImage(v, g, g.vw, g.vh);
      const c0 = Math.max(0, Math.floor(ix0 / f / d.tileSize)),
        c1 = Math.min(Math.ceil(lw / d.tileSize) - 1, Math.floor(ix1 / f / d.tileSize));
      const r0 = Math.max(0, Math.floor(iy0 / f / d.tileSize)),
        r1 = Math.min(Math.ceil(lh / d.tileSize) - 1, Math.floor(iy1 / f / d.tileSize));
      for (let row = r0; row <= r1; row++) {
        for (let col = c0; col <= c1; col++) {
          const t = this.tile(L, col, row);
          if (!t.ok) continue;
          const sx = col > 0 ? d.overlap : 0,
            sy = row > 0 ? d.overlap : 0;
          const w = Math.min(d.tileSize, lw - col * d.tileSize),
            h = Math.min(d.tileSize, lh - row * d.tileSize);
          c.drawImage(t.img, sx, sy, w, h, ox + col * d.tileSize * f * s, oy + row * d.tileSize * f * s, w * f * s, h * f * s);
          drawn++;
        }
      }
    }
    this.stats.tilesDrawn = drawn;
    if (this.showMap) {
      c.lineCap = 'round';
      c.lineJoin = 'round';
      for (const ft of this.features) {
        const sel = this.selected?.crack === ft.crack;
        c.beginPath();
        ft.line.forEach(([x, y], i) => {
          const px = ox + x * s,
            py = oy + y * s;
          if (i) c.lineTo(px, py);
          else c.moveTo(px, py);
        });
        const w = Math.max(2.5, (ft.props.mean_width_px ?? 1) * s);
        if (sel) {
          c.strokeStyle = '#ffffff';
          c.lineWidth = w + 6;
          c.stroke();
        }
        c.strokeStyle = ft.color;
        c.lineWidth = w;
        c.stroke();
      }
    }
    this.stats.draws++;
  }

  /** The branch nearest to a screen point, within HIT_PX. */
  hitTest(sx: number, sy: number): Feature | null {
    const s = scaleOf(this.view, this.geom);
    const [ix, iy] = screenToImage(this.view, this.geom, sx, sy);
    let best: Feature | null = null,
      bestD = Infinity;
    for (const f of this.features) {
      const tol = HIT_PX / s + (f.props.mean_width_px ?? 0) / 2;
      for (let i = 1; i < f.line.length; i++) {
        const d = segDist(ix, iy, f.line[i - 1], f.line[i]);
        if (d < tol && d < bestD) {
          bestD = d;
          best = f;
        }
      }
    }
    return best;
  }

  private tap(x: number, y: number): void {
    this.selected = this.showMap ? this.hitTest(x, y) : null;
    this.renderInfo();
    this.requestDraw();
  }

  refreshInfo(): void {
    this.renderInfo();
  }

  private renderInfo(): void {
    const el = $('survey-info');
    const f = this.selected;
    const s = this.survey;
    if (!f || !s) {
      el.textContent = s
        ? `${t('crack_count', { count: s.cracks })} · ${s.lengthMm !== null ? unit('m', s.lengthMm / 1000, 2) : unit('px', s.lengthPx)} · ${t('survey_tap')}`
        : '';
      return;
    }
    const p = f.props,
      mm = p.length_mm !== undefined;
    const cls = p.width_class ? ` · ${t('width_class', { name: p.width_class })}` : '';
    el.textContent =
      `${t('crack', { id: f.id })}${t('label_sep')}${t('length')} ${mm ? `${unit('mm', p.length_mm, 1)} (${unit('px', p.length_px)})` : unit('px', p.length_px)}` +
      ` · ${t('mean_width')} ${mm ? unit('mm', p.mean_width_mm, 2) : unit('px', p.mean_width_px, 1)}` +
      ` · ${t('max_width')} ${mm ? unit('mm', p.max_width_mm, 2) : unit('px', p.max_width_px, 1)}${cls}`;
  }

  resetView(): void {
    this.gestures.reset();
  }

  get fit(): number {
    return fitScale(this.geom);
  }
}

function segDist(px: number, py: number, [ax, ay]: [number, number], [bx, by]: [number, number]): number {
  const dx = bx - ax,
    dy = by - ay,
    l2 = dx * dx + dy * dy;
  const u = l2 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / l2)) : 0;
  return Math.hypot(px - (ax + u * dx), py - (ay + u * dy));
}

export function parseDzi(xml: string): Dzi {
  const attr = (name: string) => {
    const m = new RegExp(`${name}="([^"]+)"`).exec(xml);
    if (!m) throw new Error(`image.dzi has no ${name}`);
    return m[1];
  };
  const width = Number(attr('Width')),
    height = Number(attr('Height'));
  return {
    width,
    height,
    tileSize: Number(attr('TileSize')),
    overlap: Number(attr('Overlap')),
    format: attr('Format'),
    maxLevel: Math.ceil(Math.log2(Math.max(width, height))),
  };
}
