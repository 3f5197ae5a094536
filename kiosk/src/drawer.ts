// A side drawer (gallery, measure): shown, hidden, refreshed from the server when it opens.
import { show } from './dom.js';

export abstract class Drawer {
  constructor(readonly el: HTMLElement) {}

  get visible(): boolean {
    return !this.el.classList.contains('hidden');
  }

  async show(): Promise<void> {
    show(this.el, true);
    await this.refresh();
  }

  hide(): void {
    show(this.el, false);
  }

  abstract refresh(): Promise<void>;
}
