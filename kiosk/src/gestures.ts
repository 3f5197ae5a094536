// Touch, pen and mouse on the view: one finger pans, two fingers pinch-zoom about their midpoint
// (and pan with it), double-tap resets, a flick keeps gliding (inertia); mouse drag pans and the
// wheel zooms about the cursor. A short touch without movement is reported as a tap.
// Velocity, the lift-while-moving check and the double-tap interval use each event's own time
// (event.timeStamp: when the touch happened), not the time the page got round to handling it, so
// a busy page (a frame being drawn, a mask being decoded) does not turn a flick into a stop or a
// double tap into two taps.
import { clampView, resetView, zoomAbout, type Geometry, type ViewState } from './viewstate.js';

export interface GestureHooks {
  changed(): void;
  tap(x: number, y: number): void;
  interacted(): void;
}

const TAP_SLOP = 10;
const DOUBLE_TAP_MS = 320;
/** prefers-reduced-motion: no gliding after a flick (the view stops where the finger left it) */
const reducedMotion = () => typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
const FRICTION_PER_MS = 0.004; // velocity decays by e^(-t·k)
const MIN_SPEED = 0.02; // px/ms

export class Gestures {
  private pointers = new Map<number, { x: number; y: number; sx: number; sy: number; t0: number }>();
  private lastMid: [number, number] | null = null;
  private lastDist = 0;
  private moved = false;
  private multi = false;
  private lastTap = { t: 0, x: 0, y: 0 };
  private vel: [number, number] = [0, 0];
  private lastMoveT = 0;
  private glide = 0;
  /** counters for tests and diagnostics */
  readonly counts = { pans: 0, pinches: 0, taps: 0, doubleTaps: 0, wheels: 0 };

  constructor(
    private el: HTMLElement,
    private view: ViewState,
    private geom: Geometry,
    private hooks: GestureHooks,
  ) {
    el.style.touchAction = 'none';
    el.addEventListener('pointerdown', (e) => this.down(e));
    el.addEventListener('pointermove', (e) => this.move(e));
    el.addEventListener('pointerup', (e) => this.up(e));
    el.addEventListener('pointercancel', (e) => this.up(e, true));
    el.addEventListener('wheel', (e) => this.wheel(e), { passive: false });
    el.addEventListener('contextmenu', (e) => e.preventDefault());
  }

  reset(): void {
    this.stopGlide();
    resetView(this.view);
    this.hooks.changed();
  }

  private stopGlide(): void {
    if (this.glide) cancelAnimationFrame(this.glide);
    this.glide = 0;
  }

  private mid(): [number, number] {
    let x = 0,
      y = 0;
    for (const p of this.pointers.values()) {
      x += p.x;
      y += p.y;
    }
    return [x / this.pointers.size, y / this.pointers.size];
  }

  private dist(): number {
    const [a, b] = [...this.pointers.values()];
    return a && b ? Math.hypot(a.x - b.x, a.y - b.y) : 0;
  }

  private down(e: PointerEvent): void {
    this.hooks.interacted();
    this.stopGlide();
    try {
      this.el.setPointerCapture(e.pointerId);
    } catch {
      /* synthetic pointers may not be capturable */
    }
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY, sx: e.clientX, sy: e.clientY, t0: e.timeStamp });
    if (this.pointers.size === 1) {
      this.moved = false;
      this.multi = false;
    } else {
      this.multi = true;
    }
    this.lastMid = this.mid();
    this.lastDist = this.dist();
    this.vel = [0, 0];
    this.lastMoveT = e.timeStamp;
  }

  private move(e: PointerEvent): void {
    const p = this.pointers.get(e.pointerId);
    if (!p) return;
    p.x = e.clientX;
    p.y = e.clientY;
    if (!this.moved && Math.hypot(p.x - p.sx, p.y - p.sy) > TAP_SLOP) this.moved = true;
    if (!this.moved && !this.multi) return;
    this.hooks.interacted();
    const m = this.mid();
    const [lx, ly] = this.lastMid ?? m;
    const dx = m[0] - lx,
      dy = m[1] - ly;
    const now = e.timeStamp;
    const dt = Math.max(1, now - this.lastMoveT);
    this.lastMoveT = now;
    if (this.pointers.size >= 2) {
      const d = this.dist();
      if (this.lastDist > 0 && d > 0) {
        this.view.panX += dx;
        this.view.panY += dy;
        zoomAbout(this.view, this.geom, d / this.lastDist, m[0], m[1]);
        this.counts.pinches++;
      }
      this.lastDist = d;
      this.vel = [0, 0];
    } else {
      this.view.panX += dx;
      this.view.panY += dy;
      clampView(this.view, this.geom);
      this.counts.pans++;
      // smoothed velocity for inertia
      this.vel = [0.6 * (dx / dt) + 0.4 * this.vel[0], 0.6 * (dy / dt) + 0.4 * this.vel[1]];
    }
    this.lastMid = m;
    this.hooks.changed();
  }

  private up(e: PointerEvent, cancelled = false): void {
    const p = this.pointers.get(e.pointerId);
    if (!p) return;
    this.pointers.delete(e.pointerId);
    if (this.pointers.size > 0) {
      // one finger of a pinch lifted: continue as a pan from the remaining finger
      this.lastMid = this.mid();
      this.lastDist = this.dist();
      return;
    }
    if (cancelled) return;
    const now = e.timeStamp;
    if (!this.moved && !this.multi) {
      if (now - this.lastTap.t < DOUBLE_TAP_MS && Math.hypot(p.x - this.lastTap.x, p.y - this.lastTap.y) < 40) {
        this.counts.doubleTaps++;
        this.lastTap.t = 0;
        this.reset();
      } else {
        this.counts.taps++;
        this.lastTap = { t: now, x: p.x, y: p.y };
        this.hooks.tap(p.x, p.y);
      }
      return;
    }
    // inertia, only if the finger was still moving when lifted, and not for those who ask for less motion
    if (!this.multi && !reducedMotion() && now - this.lastMoveT < 60 && Math.hypot(this.vel[0], this.vel[1]) > MIN_SPEED) this.startGlide();
  }

  private startGlide(): void {
    let last = performance.now();
    const step = () => {
      const now = performance.now();
      const dt = Math.min(50, now - last);
      last = now;
      const decay = Math.exp(-FRICTION_PER_MS * dt);
      this.vel[0] *= decay;
      this.vel[1] *= decay;
      const bx = this.view.panX,
        by = this.view.panY;
      this.view.panX += this.vel[0] * dt;
      this.view.panY += this.vel[1] * dt;
      clampView(this.view, this.geom);
      this.hooks.changed();
      const stuck = this.view.panX === bx && this.view.panY === by;
      if (!stuck && Math.hypot(this.vel[0], this.vel[1]) > MIN_SPEED) this.glide = requestAnimationFrame(step);
      else this.glide = 0;
    };
    this.glide = requestAnimationFrame(step);
  }

  private wheel(e: WheelEvent): void {
    e.preventDefault();
    this.hooks.interacted();
    this.stopGlide();
    const k = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
    zoomAbout(this.view, this.geom, k, e.clientX, e.clientY);
    this.counts.wheels++;
    this.hooks.changed();
  }
}
