// crackscope kiosk: wires the connection, the Three.js view, gestures, overlay controls, freeze,
// capture + gallery, measure + calibration, status, language and the idle reset. Live frames
// (live-frames.ts), model comparison (compare.ts) and the test hook (test-hook.ts) are modules of their own.
import type { HelloMessage, StatusMessage } from '../../server/protocol/wire-format.js';
import { api, ApiError, captureUrl, curator, type CaptureSummary } from './api.js';
import { Connection, type ConnState } from './connection.js';
import { $, setOn, show, toast } from './dom.js';
import { Gallery } from './gallery.js';
import { SurveyView } from './survey-view.js';
import { Gestures } from './gestures.js';
import { applyI18n, getDefaultLang, getLang, getLanguages, loadLanguages, onLangChange, setLang, t } from './i18n.js';
import { IdleTimer } from './idle.js';
import { Measure } from './measure.js';
import { renderStatus } from './status.js';
import { BrowserStats } from './browser-stats.js';
import { Hint } from './hint.js';
import { MarksLayer } from './marks.js';
import { Viewer } from './view.js';
import { imageToScreen, screenToImage } from './viewstate.js';
import { LiveFrames } from './live-frames.js';
import { CompareController } from './compare.js';
import { installTestHook } from './test-hook.js';

type Mode = 'live' | 'frozen' | 'capture';

const params = new URLSearchParams(location.search);
const IDLE_MS = Math.max(2, Number(params.get('idle') ?? 120)) * 1000;

const viewer = new Viewer($('stage'));
const overlay = { mode: 0, opacity: 0.7, threshold: 0.5 };
/** calibration markers and bridged gaps over the view */
const marks = new MarksLayer($('marks') as unknown as SVGSVGElement, maskToScreen);
const hint = new Hint();
let mode: Mode = 'live';
let hello: HelloMessage | null = null;
let lastStatus: StatusMessage | null = null;
let conn: ConnState = 'closed';
let everOpen = false;
let thresholdTouched = false;
/** the capture on screen */
let captureId: string | null = null;

const browserStats = new BrowserStats();
const stats = browserStats.values;

const frames: LiveFrames = new LiveFrames(viewer, {
  live: () => mode === 'live',
  compareModel: (): number | null => cmp.model,
  comparisonShown: (st) => cmp.shown(st),
  decoded: (ms) => browserStats.decoded(ms),
  decodeError: () => browserStats.decodeError(),
});
const cmp: CompareController = new CompareController(viewer, {
  hello: () => hello,
  showingCapture: () => mode === 'capture',
  mask2Ready: (): boolean => frames.mask2.width > 0,
  send: (model) => connection.send({ type: 'compare', model }),
  modelChanged: () => frames.forgetAwaiting(),
  statusChanged: () => updateStatus(),
  placeOverlays: () => placeOverlays(),
});

const connection = new Connection(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, {
  hello(h) {
    hello = h;
    everOpen = true;
    if (!thresholdTouched) setThreshold(h.model.threshold);
    cmp.helloReceived(h);
    updateStatus();
  },
  frame(f, t) {
    browserStats.frameReceived(t, f.capturedAt);
    if (mode !== 'live') return;
    frames.frame(f, t);
  },
  comparison(c) {
    frames.comparison(c);
  },
  status(s) {
    lastStatus = s;
    updateStatus();
  },
  state(s) {
    conn = s;
    if (s !== 'open') lastStatus = null;
    updateStatus();
  },
  error(msg) {
    console.warn('crackscope:', msg);
  },
});

// --- render loop -------------------------------------------------------------------------------------
function loop(now: number): void {
  browserStats.animationFrame(now);
  const t0 = performance.now();
  if (viewer.render()) {
    browserStats.rendered(t0, performance.now(), frames.takeDrawn());
    placeOverlays();
  }
  requestAnimationFrame(loop);
}

setInterval(() => {
  browserStats.update(performance.now());
  updateStatus();
}, 500);

function updateStatus(): void {
  renderStatus({
    conn,
    retryAt: connection.retryAt,
    hello,
    status: lastStatus,
    mode,
    fps: mode === 'live' ? stats.fps : NaN,
    latencyMs: stats.latencyMsP50,
    frameMs: stats.frameMsP50,
    everOpen,
    compare: cmp.status(),
  });
}

// --- overlay controls ----------------------------------------------------------------------------------
const thresholdInput = $<HTMLInputElement>('threshold');
const opacityInput = $<HTMLInputElement>('opacity');
function applyOverlay(): void {
  viewer.setOverlay(overlay);
  $('threshold-val').textContent = overlay.threshold.toFixed(2);
  $('opacity-val').textContent = overlay.opacity.toFixed(2);
  document.querySelectorAll<HTMLButtonElement>('#overlay-panel [data-mode]').forEach((b) => setOn(b, Number(b.dataset.mode) === overlay.mode));
}
function setThreshold(v: number): void {
  overlay.threshold = v;
  thresholdInput.value = String(v);
  applyOverlay();
}
thresholdInput.addEventListener('input', () => {
  thresholdTouched = true;
  overlay.threshold = Number(thresholdInput.value);
  applyOverlay();
  measure.thresholdChanged();
});
opacityInput.addEventListener('input', () => {
  overlay.opacity = Number(opacityInput.value);
  applyOverlay();
});
document.querySelectorAll<HTMLButtonElement>('#overlay-panel [data-mode]').forEach((b) =>
  b.addEventListener('click', () => {
    overlay.mode = Number(b.dataset.mode);
    applyOverlay();
  }),
);
$('btn-overlay').addEventListener('click', () => {
  const p = $('overlay-panel');
  show(p, p.classList.contains('hidden'));
  setOn($('btn-overlay'), !p.classList.contains('hidden'));
});

// --- freeze, compare, capture view --------------------------------------------------------------------
function setMode(m: Mode): void {
  mode = m;
  $('btn-freeze').dataset.i18n = m === 'live' ? 'freeze' : 'unfreeze';
  $('btn-freeze').textContent = t(m === 'live' ? 'freeze' : 'unfreeze');
  $('btn-freeze').classList.toggle('on', m !== 'live');
  show($('btn-compare'), m !== 'live');
  if (m === 'live') {
    captureId = null;
    cmp.setDivider(false);
    measure.hide();
    frames.dropPending();
  }
  if (m === 'capture') viewer.clearMask2(); // a capture has the live model's mask only
  cmp.apply();
  updateStatus();
}

function freeze(): void {
  if (mode === 'live' && frames.shownFrameId >= 0) setMode('frozen');
}
function backToLive(): void {
  setMode('live');
}

$('btn-freeze').addEventListener('click', () => (mode === 'live' ? freeze() : backToLive()));

async function openCapture(id: string): Promise<void> {
  try {
    const [img, mask] = await Promise.all([
      fetch(captureUrl(id, 'image.jpg')).then((r) => (r.ok ? r.blob() : Promise.reject(new Error(`image: HTTP ${r.status}`)))),
      fetch(captureUrl(id, 'mask.png')).then((r) => (r.ok ? r.blob() : Promise.reject(new Error(`mask: HTTP ${r.status}`)))),
    ]);
    const bmp = await createImageBitmap(img);
    const mbmp = await createImageBitmap(mask, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    const mw = mbmp.width,
      mh = mbmp.height;
    const c = new OffscreenCanvas(mw, mh);
    const g = c.getContext('2d', { willReadFrequently: true })!;
    g.drawImage(mbmp, 0, 0);
    const rgba = g.getImageData(0, 0, mw, mh).data;
    const m = new Uint8Array(mw * mh);
    for (let i = 0; i < m.length; i++) m[i] = rgba[i * 4];
    mbmp.close();
    setMode('capture');
    captureId = id;
    viewer.setImage(bmp);
    frames.showMask(m, mw, mh);
    gallery.hide();
    if (measure.visible) await measure.refresh();
  } catch (err) {
    toast(`${t('open')}: ${(err as Error).message}`, true);
  }
}

// --- capture ---------------------------------------------------------------------------------------------
$('btn-capture').addEventListener('click', async () => {
  if (mode === 'capture') return;
  const btn = $<HTMLButtonElement>('btn-capture');
  btn.disabled = true;
  try {
    const saved = await api<CaptureSummary>(
      'POST',
      'captures',
      { frameId: frames.shownFrameId >= 0 ? frames.shownFrameId : undefined, threshold: overlay.threshold, lang: getLang() },
      false,
      curator.headers(),
    );
    toast(`${t(saved.protected && curator.active ? 'saved_protected' : 'saved')} · ${saved.id}`);
    if (gallery.visible) await gallery.refresh();
  } catch (err) {
    const e = err as ApiError;
    // the server's refusals, told kindly in the visitor's language
    if (e.code === 'too-soon') toast(t('save_too_soon', { count: e.retryAfterS ?? 10 }));
    else if (e.code === 'quota-protected') toast(t('save_quota_full'), true);
    else toast(`${t('save_failed')}: ${e.message}`, true);
  } finally {
    btn.disabled = false;
  }
});

// --- gallery and measure -------------------------------------------------------------------------------
const surveyView = new SurveyView(() => {});
const gallery = new Gallery(
  (id) => void openCapture(id),
  (s) => void surveyView.open(s),
);
$('btn-gallery').addEventListener('click', () => {
  if (gallery.visible) gallery.hide();
  else {
    measure.hide();
    void gallery.show();
  }
});

const measure: Measure = new Measure({
  target: () => (mode === 'frozen' ? `frames/${frames.shownFrameId}` : mode === 'capture' && captureId ? `captures/${captureId}` : null),
  threshold: () => overlay.threshold,
  source: (): string => measure.analysis?.source ?? hello?.source ?? '',
  setLabels: (l, w, h) => viewer.setLabels(l, w, h),
  setSelected: (id) => viewer.setSelected(id),
  setMarks: (pts) => {
    marks.setPoints(pts);
    placeOverlays();
  },
  setBridges: (lines) => {
    marks.setBridges(lines);
    placeOverlays();
  },
});
$('btn-measure').addEventListener('click', () => {
  if (measure.visible) {
    measure.hide();
    return;
  }
  gallery.hide();
  freeze();
  void measure.show();
});

/** mask px ↔ screen: the mask covers the image exactly */
function maskToScreen(mx: number, my: number): [number, number] {
  const g = viewer.geom;
  return imageToScreen(viewer.view, g, (mx / frames.mask.width) * g.iw, (my / frames.mask.height) * g.ih);
}
function placeOverlays(): void {
  cmp.placeLabels();
  marks.draw();
}

// --- gestures ----------------------------------------------------------------------------------------------
const gestures = new Gestures(viewer.canvas, viewer.view, viewer.geom, {
  changed: () => {
    viewer.dirty = true;
  },
  interacted: () => hint.hide(),
  tap: (x, y) => {
    if (!measure.visible && cmp.tap()) return;
    const mask = frames.mask;
    if (!measure.visible || mask.width === 0) return;
    const g = viewer.geom;
    const [ix, iy] = screenToImage(viewer.view, g, x, y);
    if (ix < 0 || iy < 0 || ix >= g.iw || iy >= g.ih) return;
    measure.tap((ix / g.iw) * mask.width, (iy / g.ih) * mask.height);
  },
});

// --- language, hint, idle -------------------------------------------------------------------------------
// The picker lists every language in its own name (and its own script direction); a visitor's
// choice lasts until the idle reset, which returns to the default language.
function showLangPanel(on: boolean): void {
  show($('lang-panel'), on);
  $('btn-lang').setAttribute('aria-expanded', String(on));
  if (!on) return;
  show($('overlay-panel'), false);
  show($('models-panel'), false);
  setOn($('btn-overlay'), false);
  const list = $('lang-list');
  list.replaceChildren();
  for (const l of getLanguages()) {
    const b = document.createElement('button');
    b.textContent = l.name;
    b.lang = l.code;
    b.dir = l.dir;
    b.dataset.lang = l.code;
    b.setAttribute('aria-current', String(l.code === getLang()));
    b.addEventListener('click', () => {
      setLang(l.code);
      showLangPanel(false);
    });
    list.appendChild(b);
  }
  (list.querySelector('[aria-current="true"]') as HTMLElement | null)?.focus({ preventScroll: true });
}
$('btn-lang').addEventListener('click', () => showLangPanel($('lang-panel').classList.contains('hidden')));
onLangChange((l) => {
  const info = getLanguages().find((x) => x.code === l);
  const name = $('btn-lang-name');
  name.textContent = info?.name ?? l;
  name.lang = l;
  $('btn-lang').setAttribute('aria-label', `${t('language')}: ${info?.name ?? l}`);
  updateStatus();
  applyOverlay();
  if (gallery.visible) gallery.render();
  if (measure.visible) measure.render();
  if (surveyView.visible) surveyView.refreshInfo();
});
{
  let pingedAt = 0;
  for (const ev of ['pointerdown', 'keydown', 'wheel'] as const) {
    window.addEventListener(
      ev,
      () => {
        const now = Date.now();
        if (now - pingedAt > 10_000) {
          pingedAt = now;
          connection.send({ type: 'ping', t: now });
        }
      },
      { passive: true, capture: true },
    );
  }
}
new IdleTimer(IDLE_MS, () => {
  gallery.hide();
  if (surveyView.visible) surveyView.close();
  show($('overlay-panel'), false);
  show($('models-panel'), false);
  setOn($('btn-overlay'), false);
  showLangPanel(false);
  if (mode !== 'live') backToLive();
  gestures.reset();
  gallery.leaveCurator(); // the next visitor is a visitor
  if (getLang() !== getDefaultLang()) setLang(getDefaultLang());
  hint.show();
});

// --- test and diagnostics hook -------------------------------------------------------------------------
installTestHook({
  viewer,
  surveyView,
  stats,
  state: () => ({
    conn,
    mode,
    lang: getLang(),
    hello,
    status: lastStatus,
    shownFrameId: frames.shownFrameId,
    captureId,
    overlay: { ...overlay },
    compare: cmp.divider,
    dividerX: cmp.dividerX,
    selectedCrack: measure.selected,
    crackCount: measure.analysis ? measure.analysis.report.crack_count : null,
    cracks: measure.cracks(),
    mmPerPx: measure.analysis?.mmPerPx ?? null,
    gestures: { ...gestures.counts },
    mask: { width: frames.mask.width, height: frames.mask.height },
    compareModel: cmp.model,
    compareView: cmp.view,
    showOther: cmp.showOther,
    compareStats: cmp.stats,
    mask2: { width: frames.mask2.width, height: frames.mask2.height },
  }),
  mask: () => frames.mask,
  maskToScreen,
  freeze,
  backToLive,
});

// --- start ----------------------------------------------------------------------------------------------
// the language first (the catalogues come from the daemon, a few KB), so the page opens in it
void loadLanguages(params.get('lang')).then((l) => {
  setLang(l);
  applyI18n(document.body);
  applyOverlay();
  setMode('live');
  connection.start();
  hint.show();
  requestAnimationFrame(loop);
});
