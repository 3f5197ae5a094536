// The measure drawer: the cracks of a frozen frame or a capture as separate objects (measured on
// the server by server/analysis), tap one — in the list or on the image — to highlight it and see
// its numbers; calibrate px → mm by tapping two points of a known distance.
import { api, decodeLabels, type Analysis } from './api.js';
import { $, show, toast } from './dom.js';
import { Drawer } from './drawer.js';
import { t } from './i18n.js';

interface CrackJson {
  id: number;
  area_px: number;
  length_px: number;
  max_width_px: number;
  mean_width_px: number;
  length_mm?: number;
  max_width_mm?: number;
  mean_width_mm?: number;
  area_mm2?: number;
  bbox: { x: number; y: number; w: number; h: number };
}

export interface MeasureHost {
  /** where to fetch the analysis: 'frames/<id>' or 'captures/<id>'; null if nothing is frozen */
  target(): string | null;
  threshold(): number;
  source(): string;
  setLabels(labels: Uint16Array | null, w: number, h: number): void;
  setSelected(id: number): void;
  /** calibration markers (mask px) to draw, or none */
  setMarks(points: [number, number][]): void;
}

const f = (v: number | undefined, d: number) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));

export class Measure extends Drawer {
  analysis: Analysis | null = null;
  labels: Uint16Array | null = null;
  selected = 0;
  calibrating = false;
  calibPoints: [number, number][] = [];
  private seq = 0;
  private debounce = 0;

  constructor(private readonly host: MeasureHost) {
    super($('measure'));
    $('measure-close').addEventListener('click', () => this.hide());
    $('calib-start').addEventListener('click', () => this.startCalibration());
    $('calib-cancel').addEventListener('click', () => this.stopCalibration());
    $('calib-save').addEventListener('click', () => void this.saveCalibration());
  }

  hide(): void {
    super.hide();
    this.stopCalibration();
    this.clear();
  }

  clear(): void {
    this.analysis = null;
    this.labels = null;
    this.selected = 0;
    this.host.setLabels(null, 0, 0);
  }

  /** Threshold moved: measure again shortly after it settles. */
  thresholdChanged(): void {
    if (!this.visible) return;
    window.clearTimeout(this.debounce);
    this.debounce = window.setTimeout(() => void this.refresh(), 300);
  }

  async refresh(): Promise<void> {
    const target = this.host.target();
    const seq = ++this.seq;
    if (!target) {
      this.analysis = null;
      $('measure-summary').textContent = t('measure_needs_freeze');
      $('measure-list').replaceChildren();
      return;
    }
    $('measure-summary').textContent = t('measuring');
    try {
      const a = await api<Analysis>('GET', `${target}/analysis?threshold=${this.host.threshold().toFixed(3)}`);
      if (seq !== this.seq) return;
      this.analysis = a;
      this.labels = decodeLabels(a.labels, a.width * a.height);
      this.host.setLabels(this.labels, a.width, a.height);
      if (!this.cracks().some((c) => c.id === this.selected)) this.selected = 0;
      this.host.setSelected(this.selected);
      this.render();
    } catch (err) {
      if (seq !== this.seq) return;
      $('measure-summary').textContent = `${t('measure_failed')}: ${(err as Error).message}`;
    }
  }

  cracks(): CrackJson[] {
    return (this.analysis?.report.cracks ?? []) as unknown as CrackJson[];
  }

  private line(c: CrackJson): string {
    const mm = c.length_mm !== undefined;
    const L = mm ? `${f(c.length_mm, 1)} mm` : `${f(c.length_px, 0)} ${t('px')}`;
    const W = mm ? `${f(c.max_width_mm, 2)} mm` : `${f(c.max_width_px, 1)} ${t('px')}`;
    return `#${c.id} · ${t('length')} ${L} · ${t('max_width')} ${W}`;
  }

  render(): void {
    const a = this.analysis;
    if (!a) return;
    const r = a.report as any;
    const mm = a.mmPerPx !== null;
    const total = mm ? `${f(r.total_length_mm, 1)} mm` : `${f(r.total_length_px, 0)} ${t('px')}`;
    $('measure-summary').textContent =
      r.crack_count === 0 ? t('no_cracks') : `${r.crack_count} ${t('cracks')} · ${t('total_length')} ${total} · ${t('tap_crack')}`;
    $('calib-state').textContent = mm ? `${t('calibrated')}: ${a.mmPerPx!.toPrecision(4)} mm/${t('px')}` : t('not_calibrated');
    const list = $('measure-list');
    list.replaceChildren();
    for (const c of this.cracks()) {
      const li = document.createElement('li');
      li.dataset.id = String(c.id);
      li.textContent = this.line(c);
      if (c.id === this.selected) li.className = 'sel';
      li.addEventListener('click', () => this.select(c.id === this.selected ? 0 : c.id));
      list.appendChild(li);
    }
    const sel = this.cracks().find((c) => c.id === this.selected);
    const box = $('measure-selected');
    if (!sel) box.textContent = '';
    else {
      const u = sel.length_mm !== undefined;
      box.innerText = [
        `${t('crack')} #${sel.id}`,
        `${t('length')}: ${u ? f(sel.length_mm, 2) + ' mm' : f(sel.length_px, 1) + ' ' + t('px')}`,
        `${t('max_width')}: ${u ? f(sel.max_width_mm, 3) + ' mm' : f(sel.max_width_px, 2) + ' ' + t('px')}`,
        `${t('mean_width')}: ${u ? f(sel.mean_width_mm, 3) + ' mm' : f(sel.mean_width_px, 2) + ' ' + t('px')}`,
        `${t('area')}: ${u ? f(sel.area_mm2, 2) + ' mm²' : sel.area_px + ' ' + t('px') + '²'}`,
      ].join('\n');
    }
  }

  select(id: number): void {
    this.selected = id;
    this.host.setSelected(id);
    this.render();
    if (id) document.querySelector(`#measure-list li[data-id="${id}"]`)?.scrollIntoView({ block: 'nearest' });
  }

  /** A tap on the image at mask pixel (mx, my). Returns true if it was used. */
  tap(mx: number, my: number): boolean {
    if (!this.visible) return false;
    if (this.calibrating) {
      if (this.calibPoints.length >= 2) this.calibPoints = [];
      this.calibPoints.push([mx, my]);
      this.host.setMarks(this.calibPoints);
      if (this.calibPoints.length === 2) $<HTMLInputElement>('calib-mm').focus();
      return true;
    }
    const a = this.analysis;
    if (!a || !this.labels) return false;
    const x = Math.floor(mx), y = Math.floor(my);
    let id = 0;
    // search a small neighbourhood: cracks are thin and fingers are not
    for (let r = 0; r <= 6 && !id; r++) {
      for (let dy = -r; dy <= r && !id; dy++) {
        for (let dx = -r; dx <= r && !id; dx++) {
          const xx = x + dx, yy = y + dy;
          if (xx >= 0 && yy >= 0 && xx < a.width && yy < a.height) id = this.labels[yy * a.width + xx];
        }
      }
    }
    this.select(id);
    return true;
  }

  startCalibration(): void {
    this.calibrating = true;
    this.calibPoints = [];
    this.host.setMarks([]);
    show($('calib-form'), true);
    show($('calib-start'), false);
  }

  stopCalibration(): void {
    this.calibrating = false;
    this.calibPoints = [];
    this.host.setMarks([]);
    show($('calib-form'), false);
    show($('calib-start'), true);
  }

  private async saveCalibration(): Promise<void> {
    const mm = Number($<HTMLInputElement>('calib-mm').value);
    if (this.calibPoints.length !== 2 || !(mm > 0)) {
      toast(`${t('calibration_failed')}: ${t('calibrate_hint')}`, true);
      return;
    }
    const a = this.analysis;
    try {
      await api('PUT', 'calibration', { source: this.host.source(), points: this.calibPoints, distanceMm: mm, ...(a ? { mask: { width: a.width, height: a.height } } : {}) }, true);
      toast(t('calibrated'));
      this.stopCalibration();
      await this.refresh();
    } catch (err) {
      toast(`${t('calibration_failed')}: ${(err as Error).message}`, true);
    }
  }
}
