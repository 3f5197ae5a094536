// window.__crackscope: the kiosk's state for the browser tests and for diagnostics in the field
// (view, browser-measured stats, the on-screen mask, the survey view); see kiosk/README.md.
import type { MaskBuffer } from './mask.js';
import type { SurveyView } from './survey-view.js';
import type { Viewer } from './view.js';
import { fitScale, imageToScreen, scaleOf } from './viewstate.js';

export interface TestHookParts {
  viewer: Viewer;
  surveyView: SurveyView;
  /** the browser-measured stats object, updated in place */
  stats: object;
  /** the kiosk's state as the tests read it */
  state(): object;
  /** the mask on screen */
  mask(): MaskBuffer;
  maskToScreen(mx: number, my: number): [number, number];
  freeze(): void;
  backToLive(): void;
}

/** base64 of the mask's width×height uint8 bytes */
function maskBase64(d: Uint8Array): string {
  let s = '';
  for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000) as unknown as number[]);
  return btoa(s);
}

export function installTestHook(p: TestHookParts): void {
  const { viewer, surveyView } = p;
  const hook = {
    get survey() {
      return {
        visible: surveyView.visible,
        name: surveyView.name,
        view: { ...surveyView.view, scale: scaleOf(surveyView.view, surveyView.geom), fit: surveyView.fit },
        stats: { ...surveyView.stats },
        selected: surveyView.selected ? { id: surveyView.selected.id, ...surveyView.selected.props } : null,
        info: document.getElementById('survey-info')?.textContent ?? '',
      };
    },
    get view() {
      const g = viewer.geom;
      return { ...viewer.view, scale: scaleOf(viewer.view, g), fit: fitScale(g), viewport: { w: g.vw, h: g.vh }, image: { w: g.iw, h: g.ih } };
    },
    stats: p.stats,
    get state() {
      return p.state();
    },
    /** the mask on screen, base64 of width×height uint8 */
    mask: () => maskBase64(p.mask().data),
    imageToScreen: (x: number, y: number) => imageToScreen(viewer.view, viewer.geom, x, y),
    maskToScreen: p.maskToScreen,
    freeze: p.freeze,
    backToLive: p.backToLive,
  };
  (window as unknown as { __crackscope: typeof hook }).__crackscope = hook;
}
