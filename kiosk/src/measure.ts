// The measure drawer: the cracks of a frozen frame or a capture as separate objects (measured on
// the server by server/analysis), tap one — in the list or on the image — to highlight it and see
// its numbers; calibrate px → mm by tapping two points of a known distance.
import { api, decodeLabels, type Analysis, type Crack } from './api.js';
import { $, show, toast } from './dom.js';
import { Drawer } from './drawer.js';
import { num, t, unit } from './i18n.js';

export interface MeasureHost {
  /** where to fetch the analysis: 'frames/<id>' or 'captures/<id>'; null if nothing is frozen */
  target(): string | null;
  threshold(): number;
  source(): string;
  setLabels(labels: Uint16Array | null, w: number, h: number): void;
  setSelected(id: number): void;
  /** calibration markers (mask px) to draw, or none */
  setMarks(points: [number, number][]): void;
  /** bridged gaps (mask px, end to end) to draw as inferred, not seen (issue 20), or none */
  setBridges(lines: [[number, number], [number, number]][]): void;
}

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
    this.host.setBridges([]);
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
      this.host.setBridges((a.report.bridges ?? []).map((b) => b.line));
      if (!this.cracks().some((c) => c.id === this.selected)) this.selected = 0;
      this.host.setSelected(this.selected);
      this.render();
    } catch (err) {
      if (seq !== this.seq) return;
      $('measure-summary').textContent = `${t('measure_failed')}: ${(err as Error).message}`;
    }
  }

  cracks(): Crack[] {
    return this.analysis?.report.cracks ?? [];
  }

  private line(c: Crack): string {
    const mm = c.length_mm !== undefined;
    const L = mm ? unit('mm', c.length_mm, 1) : unit('px', c.length_px, 0);
    const W = mm ? unit('mm', c.max_width_mm, 2) : unit('px', c.max_width_px, 1);
    return `#${num(c.id)} · ${t('length')} ${L} · ${t('max_width')} ${W}`;
  }

  render(): void {
    const a = this.analysis;
    if (!a) return;
    const r = a.report;
    const mm = a.mmPerPx !== null;
    const total = mm ? unit('mm', r.total_length_mm, 1) : unit('px', r.total_length_px, 0);
    $('measure-summary').textContent =
      r.crack_count === 0 ? t('no_cracks') : `${t('crack_count', { count: r.crack_count })} · ${t('total_length')} ${total} · ${t('tap_crack')}`;
    $('calib-state').textContent = mm ? t('calibrated_value', { value: unit('mm', a.mmPerPx!, 4) }) : t('not_calibrated');
    const list = $('measure-list');
    list.replaceChildren();
    for (const c of this.cracks()) {
      // a button in each item: reachable and named for a screen reader; the list stays a list
      const li = document.createElement('li');
      li.dataset.id = String(c.id);
      const b = document.createElement('button');
      b.textContent = this.line(c);
      b.setAttribute('aria-pressed', String(c.id === this.selected));
      if (c.id === this.selected) li.className = 'sel';
      b.addEventListener('click', () => this.select(c.id === this.selected ? 0 : c.id));
      li.appendChild(b);
      list.appendChild(li);
    }
    const sel = this.cracks().find((c) => c.id === this.selected);
    const box = $('measure-selected');
    if (!sel) box.textContent = '';
    else {
      const u = sel.length_mm !== undefined;
      box.innerText = [
        t('crack', { id: `#${num(sel.id)}` }),
        `${t('length')}${t('label_sep')}${u ? unit('mm', sel.length_mm, 2) : unit('px', sel.length_px, 1)}`,
        `${t('max_width')}${t('label_sep')}${u ? unit('mm', sel.max_width_mm, 3) : unit('px', sel.max_width_px, 2)}`,
        `${t('mean_width')}${t('label_sep')}${u ? unit('mm', sel.mean_width_mm, 3) : unit('px', sel.mean_width_px, 2)}`,
        `${t('area')}${t('label_sep')}${u ? unit('mm2', sel.area_mm2, 2) : unit('px2', sel.area_px)}`,
        // the part of its length that bridges faint gaps (issue 20): inferred, not seen
        ...(sel.bridges > 0
          ? [
              `${t('inferred_length')}${t('label_sep')}${u ? unit('mm', sel.inferred_length_mm, 2) : unit('px', sel.inferred_length_px, 1)} (${num(sel.bridges)}×)`,
            ]
          : []),
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
    const x = Math.floor(mx),
      y = Math.floor(my);
    let id = 0;
    // search a small neighbourhood: cracks are thin and fingers are not
    for (let r = 0; r <= 6 && !id; r++) {
      for (let dy = -r; dy <= r && !id; dy++) {
        for (let dx = -r; dx <= r && !id; dx++) {
          const xx = x + dx,
            yy = y + dy;
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
      await api(
        'PUT',
        'calibration',
        { source: this.host.source(), points: this.calibPoints, distanceMm: mm, ...(a ? { mask: { width: a.width, height: a.height } } : {}) },
        true,
      );
      toast(t('calibrated'));
      this.stopCalibration();
      await this.refresh();
    } catch (err) {
      toast(`${t('calibration_failed')}: ${(err as Error).message}`, true);
    }
  }
}
