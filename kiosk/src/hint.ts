// The short gesture hint shown at start and after the idle reset; it goes at the first touch or
// after a few seconds.
import { $, show } from './dom.js';
import { t } from './i18n.js';

const HINT_MS = 6000;

export class Hint {
  private timer = 0;

  show(): void {
    const h = $('hint');
    h.textContent = t('hint');
    show(h, true);
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.hide(), HINT_MS);
  }

  hide(): void {
    show($('hint'), false);
  }
}
