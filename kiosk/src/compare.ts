// Model comparison (serve --compare) and the freeze divider: which comparison model is picked, how
// it is shown (swipe: the comparison left of the divider and the live model right of it; toggle:
// a tap switches between them; diff: the differences coloured), its numbers for the status bar,
// and the divider that also compares a frozen frame with and without the overlay.
import type { HelloMessage } from '../../server/protocol/wire-format.js';
import { $, setOn, show } from './dom.js';
import { t } from './i18n.js';
import type { ComparisonStats } from './live-frames.js';
import { COMPARE_DIFF, COMPARE_OFF, COMPARE_OTHER, COMPARE_SWIPE } from './overlay-shader.js';
import type { StatusModel } from './status.js';
import type { Viewer } from './view.js';

export type CompareView = 'swipe' | 'toggle' | 'diff';

export interface CompareHost {
  hello(): HelloMessage | null;
  /** a capture has the live model's mask only: no comparison while one is shown */
  showingCapture(): boolean;
  /** a comparison mask has been decoded */
  mask2Ready(): boolean;
  /** the 'compare' client message */
  send(model: number | null): void;
  /** the comparison model changed (forget a frame waiting for the old one's mask) */
  modelChanged(): void;
  statusChanged(): void;
  placeOverlays(): void;
}

export class CompareController {
  /** the comparison model picked (CompareModelInfo.index), or null */
  model: number | null = null;
  view: CompareView = 'swipe';
  /** toggle view: true while the comparison model's mask is on screen */
  showOther = false;
  stats: ComparisonStats | null = null;
  /** the freeze divider (with and without the overlay) is on */
  divider = false;
  /** the divider's x, CSS px; 0 until first placed */
  dividerX = 0;

  constructor(
    private readonly viewer: Viewer,
    private readonly host: CompareHost,
  ) {
    $('btn-models').addEventListener('click', () => {
      const p = $('models-panel');
      show(p, p.classList.contains('hidden'));
      if (!p.classList.contains('hidden')) show($('overlay-panel'), false);
    });
    document.querySelectorAll<HTMLButtonElement>('#cmp-views button').forEach((b) =>
      b.addEventListener('click', () => {
        this.view = b.dataset.view as CompareView;
        this.showOther = false;
        this.apply();
      }),
    );
    $('btn-compare').addEventListener('click', () => this.setDivider(!this.divider));
    this.dragDivider();
  }

  otherName(): string {
    return this.host.hello()?.compare?.find((m) => m.index === this.model)?.name ?? '';
  }

  /** A new connection starts without a comparison: ask again for the one picked, if it is still there. */
  helloReceived(h: HelloMessage): void {
    this.renderModels();
    if (this.model !== null && !h.compare?.some((m) => m.index === this.model)) this.select(null);
    else if (this.model !== null) this.host.send(this.model);
  }

  /** A comparison mask went on screen with these numbers. */
  shown(stats: ComparisonStats): void {
    this.stats = stats;
    this.apply();
  }

  /** A tap on the image: in the toggle view it switches models; true when it was used. */
  tap(): boolean {
    if (this.model === null || this.view !== 'toggle') return false;
    this.showOther = !this.showOther;
    this.apply();
    return true;
  }

  /** What the status bar shows, or null without a comparison on screen. */
  status(): StatusModel['compare'] {
    if (this.model === null || !this.stats || this.host.showingCapture()) return null;
    return { liveName: this.host.hello()?.model.name ?? '', otherName: this.otherName(), ...this.stats };
  }

  setDivider(on: boolean): void {
    this.divider = on;
    setOn($('btn-compare'), on);
    if (on) this.dividerX = this.dividerX > 0 ? this.dividerX : window.innerWidth / 2;
    this.viewer.setDivider(on ? this.dividerX : null);
    this.apply();
  }

  /** The shader's comparison mode, the divider and the labels, from model / view / showOther. */
  apply(): void {
    const liveName = this.host.hello()?.model.name ?? '';
    const active = this.model !== null && !this.host.showingCapture() && this.host.mask2Ready();
    const swipe = active && this.view === 'swipe';
    if (swipe && this.dividerX <= 0) this.dividerX = window.innerWidth / 2;
    const m = !active
      ? COMPARE_OFF
      : this.view === 'swipe'
        ? COMPARE_SWIPE
        : this.view === 'diff'
          ? COMPARE_DIFF
          : this.showOther
            ? COMPARE_OTHER
            : COMPARE_OFF;
    this.viewer.setCompare(m, this.dividerX);
    show($('divider'), this.divider || swipe);
    show($('cmp-labels'), active && this.view !== 'diff');
    $('cmp-left').textContent = swipe ? this.otherName() : this.showOther ? `▶ ${this.otherName()}` : `▶ ${liveName}`;
    $('cmp-right').textContent = swipe ? liveName : '';
    show($('cmp-right'), swipe);
    $('legend-live').textContent = t('only', { name: liveName });
    $('legend-other').textContent = t('only', { name: this.otherName() });
    document
      .querySelectorAll<HTMLButtonElement>('#models-list button')
      .forEach((b) => setOn(b, (b.dataset.model === '' ? null : Number(b.dataset.model)) === this.model));
    document.querySelectorAll<HTMLButtonElement>('#cmp-views button').forEach((b) => {
      setOn(b, b.dataset.view === this.view);
      b.disabled = this.model === null;
    });
    show($('cmp-legend'), this.model !== null && this.view === 'diff');
    setOn($('btn-models'), this.model !== null);
    this.host.placeOverlays();
  }

  /** The divider and the model labels beside it, where the divider is. */
  placeLabels(): void {
    $('divider').style.left = `${this.dividerX}px`;
    if (this.view === 'swipe') {
      $('cmp-left').style.left = `${Math.max(70, this.dividerX / 2)}px`;
      $('cmp-right').style.left = `${Math.min(window.innerWidth - 70, (this.dividerX + window.innerWidth) / 2)}px`;
    } else $('cmp-left').style.left = '50%';
  }

  select(index: number | null): void {
    this.model = index;
    this.host.modelChanged();
    this.stats = null;
    this.showOther = false;
    if (index === null) this.viewer.clearMask2();
    this.host.send(index);
    this.apply();
    this.host.statusChanged();
  }

  renderModels(): void {
    const models = this.host.hello()?.compare ?? [];
    show($('btn-models'), models.length > 0);
    const list = $('models-list');
    list.replaceChildren();
    const add = (label: string, index: number | null, i18n?: string) => {
      const b = document.createElement('button');
      b.dataset.model = index === null ? '' : String(index);
      b.textContent = label;
      if (i18n) b.dataset.i18n = i18n;
      b.addEventListener('click', () => this.select(index));
      list.appendChild(b);
    };
    add(t('model_off'), null, 'model_off');
    for (const m of models) add(m.name, m.index);
    this.apply();
  }

  private dragDivider(): void {
    const div = $('divider');
    let dragging = false;
    div.addEventListener('pointerdown', (e) => {
      dragging = true;
      div.setPointerCapture(e.pointerId);
    });
    div.addEventListener('pointermove', (e) => {
      if (!dragging) return;
      this.dividerX = Math.min(window.innerWidth, Math.max(0, e.clientX));
      if (this.divider) this.viewer.setDivider(this.dividerX);
      this.apply();
    });
    const end = () => (dragging = false);
    div.addEventListener('pointerup', end);
    div.addEventListener('pointercancel', end);
  }
}
