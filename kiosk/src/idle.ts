// Gallery kiosks: after a while without touches, go back to the full live view and show how to use it.
export class IdleTimer {
  private timer = 0;
  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {
    for (const ev of ['pointerdown', 'keydown', 'wheel'] as const) window.addEventListener(ev, () => this.poke(), { passive: true, capture: true });
    this.poke();
  }
  poke(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.onIdle(), this.ms);
  }
}
