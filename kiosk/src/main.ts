// crackscope kiosk: wires the connection, the Three.js view, gestures, overlay controls, freeze and
// compare, capture + gallery, measure + calibration, status, language and the idle reset.
import type { FrameMessage, HelloMessage, StatusMessage } from '../../server/stream/wire-format.js';
import { api, captureUrl, type CaptureSummary } from './api.js';
import { Connection, type ConnState } from './connection.js';
import { $, show, toast } from './dom.js';
import { Gallery } from './gallery.js';
import { Gestures } from './gestures.js';
import { applyI18n, getLang, onLangChange, setLang, t } from './i18n.js';
import { IdleTimer } from './idle.js';
import { MaskBuffer } from './mask.js';
import { Measure } from './measure.js';
import { renderStatus } from './status.js';
import { RateMeter, Rolling } from './stats.js';
import { Viewer } from './view.js';
import { imageToScreen, scaleOf, screenToImage, fitScale } from './viewstate.js';

type Mode = 'live' | 'frozen' | 'capture';

const params = new URLSearchParams(location.search);
const IDLE_MS = Math.max(2, Number(params.get('idle') ?? 120)) * 1000;
const HINT_MS = 6000;

const viewer = new Viewer($('stage'));
const overlay = { mode: 0, opacity: 0.7, threshold: 0.5 };
let mode: Mode = 'live';
let hello: HelloMessage | null = null;
let lastStatus: StatusMessage | null = null;
let conn: ConnState = 'closed';
let everOpen = false;
let thresholdTouched = false;
let compare = false;
let dividerX = 0;
/** the frame on screen (live or frozen) and the capture on screen */
let shownFrameId = -1;
let captureId: string | null = null;
let framesShown = 0;

// --- statistics measured in the browser -----------------------------------------------------------
const recvRate = new RateMeter();
const latency = new Rolling(60);
const decodeMs = new Rolling(120); // JPEG + mask decode (off the main thread for the JPEG)
const renderMs = new Rolling(120); // texture upload + draw, on the main thread
const frameMs = new Rolling(120); // message received → drawn
const rafGap = new Rolling(120); // time between animation frames
const stats = {
  fps: 0,
  latencyMsP50: NaN,
  decodeMsP50: NaN,
  renderMsP50: NaN,
  renderMsP95: NaN,
  frameMsP50: NaN,
  frameMsP95: NaN,
  rafGapMsP95: NaN,
  framesReceived: 0,
  framesShown: 0,
  decodeErrors: 0,
  heapMb: NaN,
};

// --- mask double buffer: decode into `back`, show `front` -------------------------------------------
let front = new MaskBuffer();
let back = new MaskBuffer();

// --- live frames: latest wins, one decode at a time ------------------------------------------------
let busy = false;
let pending: { f: FrameMessage; t: number } | null = null;
let drawnAt: number | null = null; // receive time of the frame waiting to be drawn

async function process(f: FrameMessage, receivedAt: number): Promise<void> {
  busy = true;
  const t0 = performance.now();
  try {
    const [bmp, ok] = await Promise.all([createImageBitmap(new Blob([f.jpeg as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' })), back.load(f)]);
    decodeMs.push(performance.now() - t0);
    if (mode !== 'live') {
      bmp.close();
    } else {
      viewer.setImage(bmp);
      if (ok) {
        [front, back] = [back, front];
        viewer.setMask(front.data, front.width, front.height);
      } else stats.decodeErrors++;
      shownFrameId = f.frameId;
      drawnAt = receivedAt;
    }
  } catch {
    stats.decodeErrors++;
  } finally {
    busy = false;
  }
  if (pending) {
    const p = pending;
    pending = null;
    void process(p.f, p.t);
  }
}

const connection = new Connection(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, {
  hello(h) {
    hello = h;
    everOpen = true;
    if (!thresholdTouched) setThreshold(h.model.threshold);
    updateStatus();
  },
  frame(f, t) {
    stats.framesReceived++;
    recvRate.tick(t);
    latency.push(Date.now() - f.capturedAt);
    if (mode !== 'live') return;
    if (busy) pending = { f, t };
    else void process(f, t);
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
let lastRaf = 0;
function loop(now: number): void {
  if (lastRaf) rafGap.push(now - lastRaf);
  lastRaf = now;
  const t0 = performance.now();
  if (viewer.render()) {
    const t1 = performance.now();
    renderMs.push(t1 - t0);
    if (drawnAt !== null) {
      frameMs.push(t1 - drawnAt);
      drawnAt = null;
      framesShown++;
    }
    placeOverlays();
  }
  requestAnimationFrame(loop);
}

setInterval(() => {
  const now = performance.now();
  stats.fps = recvRate.rate(now);
  stats.latencyMsP50 = latency.quantile(0.5);
  stats.decodeMsP50 = decodeMs.quantile(0.5);
  stats.renderMsP50 = renderMs.quantile(0.5);
  stats.renderMsP95 = renderMs.quantile(0.95);
  stats.frameMsP50 = frameMs.quantile(0.5);
  stats.frameMsP95 = frameMs.quantile(0.95);
  stats.rafGapMsP95 = rafGap.quantile(0.95);
  stats.framesShown = framesShown;
  const mem = (performance as any).memory;
  if (mem) stats.heapMb = mem.usedJSHeapSize / 1048576;
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
  });
}

// --- overlay controls ----------------------------------------------------------------------------------
const thresholdInput = $<HTMLInputElement>('threshold');
const opacityInput = $<HTMLInputElement>('opacity');
function applyOverlay(): void {
  viewer.setOverlay(overlay);
  $('threshold-val').textContent = overlay.threshold.toFixed(2);
  $('opacity-val').textContent = overlay.opacity.toFixed(2);
  document.querySelectorAll<HTMLButtonElement>('#overlay-panel [data-mode]').forEach((b) => b.classList.toggle('on', Number(b.dataset.mode) === overlay.mode));
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
  $('btn-overlay').classList.toggle('on', !p.classList.contains('hidden'));
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
    setCompare(false);
    measure.hide();
    pending = null;
  }
  updateStatus();
}

function freeze(): void {
  if (mode === 'live' && shownFrameId >= 0) setMode('frozen');
}
function backToLive(): void {
  setMode('live');
}

function setCompare(on: boolean): void {
  compare = on;
  $('btn-compare').classList.toggle('on', on);
  show($('divider'), on);
  if (on) dividerX = dividerX > 0 ? dividerX : window.innerWidth / 2;
  viewer.setDivider(on ? dividerX : null);
  placeOverlays();
}
$('btn-freeze').addEventListener('click', () => (mode === 'live' ? freeze() : backToLive()));
$('btn-compare').addEventListener('click', () => setCompare(!compare));
{
  const div = $('divider');
  let dragging = false;
  div.addEventListener('pointerdown', (e) => {
    dragging = true;
    div.setPointerCapture(e.pointerId);
  });
  div.addEventListener('pointermove', (e) => {
    if (!dragging) return;
    dividerX = Math.min(window.innerWidth, Math.max(0, e.clientX));
    viewer.setDivider(dividerX);
    placeOverlays();
  });
  const end = () => (dragging = false);
  div.addEventListener('pointerup', end);
  div.addEventListener('pointercancel', end);
}

async function openCapture(id: string): Promise<void> {
  try {
    const [img, mask] = await Promise.all([
      fetch(captureUrl(id, 'image.jpg')).then((r) => (r.ok ? r.blob() : Promise.reject(new Error(`image: HTTP ${r.status}`)))),
      fetch(captureUrl(id, 'mask.png')).then((r) => (r.ok ? r.blob() : Promise.reject(new Error(`mask: HTTP ${r.status}`)))),
    ]);
    const bmp = await createImageBitmap(img);
    const mbmp = await createImageBitmap(mask, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    const mw = mbmp.width, mh = mbmp.height;
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
    back.set(m, mw, mh);
    [front, back] = [back, front];
    viewer.setMask(front.data, front.width, front.height);
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
    const saved = await api<CaptureSummary>('POST', 'captures', { frameId: shownFrameId >= 0 ? shownFrameId : undefined, threshold: overlay.threshold });
    toast(`${t('saved')} · ${saved.id}`);
    if (gallery.visible) await gallery.refresh();
  } catch (err) {
    toast(`${t('save_failed')}: ${(err as Error).message}`, true);
  } finally {
    btn.disabled = false;
  }
});

// --- gallery and measure -------------------------------------------------------------------------------
const gallery = new Gallery((id) => void openCapture(id));
$('btn-gallery').addEventListener('click', () => {
  if (gallery.visible) gallery.hide();
  else {
    measure.hide();
    void gallery.show();
  }
});

const marks = $('marks') as unknown as SVGSVGElement;
let markPoints: [number, number][] = [];
const measure: Measure = new Measure({
  target: () => (mode === 'frozen' ? `frames/${shownFrameId}` : mode === 'capture' && captureId ? `captures/${captureId}` : null),
  threshold: () => overlay.threshold,
  source: (): string => measure.analysis?.source ?? hello?.source ?? '',
  setLabels: (l, w, h) => viewer.setLabels(l, w, h),
  setSelected: (id) => viewer.setSelected(id),
  setMarks: (pts) => {
    markPoints = pts;
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
  return imageToScreen(viewer.view, g, (mx / front.width) * g.iw, (my / front.height) * g.ih);
}
function placeOverlays(): void {
  if (compare) $('divider').style.left = `${dividerX}px`;
  const parts: string[] = [];
  const pts = markPoints.map(([x, y]) => maskToScreen(x, y));
  if (pts.length === 2) parts.push(`<line x1="${pts[0][0]}" y1="${pts[0][1]}" x2="${pts[1][0]}" y2="${pts[1][1]}" stroke="#0f0" stroke-width="3"/>`);
  for (const [x, y] of pts) parts.push(`<circle cx="${x}" cy="${y}" r="10" fill="none" stroke="#0f0" stroke-width="3"/><circle cx="${x}" cy="${y}" r="2" fill="#0f0"/>`);
  marks.innerHTML = parts.join('');
}

// --- gestures ----------------------------------------------------------------------------------------------
const gestures = new Gestures(viewer.canvas, viewer.view, viewer.geom, {
  changed: () => {
    viewer.dirty = true;
  },
  interacted: () => hideHint(),
  tap: (x, y) => {
    if (!measure.visible || front.width === 0) return;
    const g = viewer.geom;
    const [ix, iy] = screenToImage(viewer.view, g, x, y);
    if (ix < 0 || iy < 0 || ix >= g.iw || iy >= g.ih) return;
    measure.tap((ix / g.iw) * front.width, (iy / g.ih) * front.height);
  },
});

// --- language, hint, idle -------------------------------------------------------------------------------
$('btn-lang').addEventListener('click', () => setLang(getLang() === 'zh' ? 'en' : 'zh'));
onLangChange((l) => {
  $('btn-lang').lang = l === 'zh' ? 'en' : 'zh-CN';
  updateStatus();
  if (gallery.visible) gallery.render();
  if (measure.visible) measure.render();
  try {
    localStorage.setItem('crackscope.lang', l);
  } catch {
    /* private mode */
  }
});
let hintTimer = 0;
function showHint(): void {
  const h = $('hint');
  h.textContent = t('hint');
  show(h, true);
  window.clearTimeout(hintTimer);
  hintTimer = window.setTimeout(hideHint, HINT_MS);
}
function hideHint(): void {
  show($('hint'), false);
}
new IdleTimer(IDLE_MS, () => {
  gallery.hide();
  show($('overlay-panel'), false);
  $('btn-overlay').classList.remove('on');
  if (mode !== 'live') backToLive();
  gestures.reset();
  if (params.get('lang') !== 'en') setLang('zh');
  showHint();
});

// --- test and diagnostics hook -------------------------------------------------------------------------
function maskBase64(): string {
  let s = '';
  const d = front.data;
  for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000) as unknown as number[]);
  return btoa(s);
}
(window as any).__crackscope = {
  get view() {
    const g = viewer.geom;
    return { ...viewer.view, scale: scaleOf(viewer.view, g), fit: fitScale(g), viewport: { w: g.vw, h: g.vh }, image: { w: g.iw, h: g.ih } };
  },
  stats,
  get state() {
    return {
      conn,
      mode,
      lang: getLang(),
      hello,
      status: lastStatus,
      shownFrameId,
      captureId,
      overlay: { ...overlay },
      compare,
      dividerX,
      selectedCrack: measure.selected,
      crackCount: measure.analysis ? (measure.analysis.report as any).crack_count : null,
      cracks: measure.cracks(),
      mmPerPx: measure.analysis?.mmPerPx ?? null,
      gestures: { ...gestures.counts },
      mask: { width: front.width, height: front.height },
    };
  },
  /** the mask on screen, base64 of width×height uint8 */
  mask: maskBase64,
  imageToScreen: (x: number, y: number) => imageToScreen(viewer.view, viewer.geom, x, y),
  maskToScreen,
  freeze,
  backToLive,
};

// --- start ----------------------------------------------------------------------------------------------
{
  let l = params.get('lang');
  if (l !== 'zh' && l !== 'en') {
    try {
      l = localStorage.getItem('crackscope.lang');
    } catch {
      l = null;
    }
  }
  setLang(l === 'en' ? 'en' : 'zh');
}
applyI18n(document.body);
applyOverlay();
setMode('live');
connection.start();
showHint();
requestAnimationFrame(loop);
