// The status line (connection, mode, provider, fps, latency, browser frame time) and the
// full-screen offline state.
import type { HelloMessage, StatusMessage } from '../../server/protocol/wire-format.js';
import type { ConnState } from './connection.js';
import { $, show, toast } from './dom.js';
import { num, t, unit } from './i18n.js';

export interface StatusModel {
  conn: ConnState;
  retryAt: number;
  hello: HelloMessage | null;
  status: StatusMessage | null;
  mode: 'live' | 'frozen' | 'capture';
  fps: number;
  latencyMs: number;
  frameMs: number;
  everOpen: boolean;
  /** the model comparison on screen: per-frame agreement and each model's time */
  compare: { liveName: string; otherName: string; liveMs: number; otherMs: number; iou: number; f1: number } | null;
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '–');

let providerFor: HelloMessage | null = null;

/** The provider that runs, and — a tap away — why each one before it did not (the hello's fallbacks). */
function renderProvider(hello: HelloMessage | null): void {
  if (hello === providerFor) return;
  providerFor = hello;
  const el = $('st-provider');
  const reasons = hello?.fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('\n') ?? '';
  el.textContent = hello ? hello.providerLabel + (hello.fallbacks.length ? ' ⓘ' : '') : '';
  el.title = reasons;
  el.dataset.fallbacks = String(hello?.fallbacks.length ?? 0);
  if (!el.dataset.wired) {
    el.dataset.wired = '1';
    el.addEventListener('click', () => el.title && toast(el.title));
  }
}

export function renderStatus(m: StatusModel): void {
  const conn = $('st-conn');
  const live = m.conn === 'open' && m.status?.state !== 'source-down' && m.status?.state !== 'model-error';
  conn.textContent =
    m.conn === 'open'
      ? live
        ? t('connected')
        : m.status?.state === 'source-down'
          ? t('offline_camera')
          : t('offline_model')
      : m.conn === 'connecting'
        ? t('connecting')
        : t('offline_server');
  conn.className = 'pill ' + (live ? 'ok' : m.conn === 'connecting' ? 'warn' : 'bad');
  const mode = $('st-mode');
  mode.textContent = m.mode === 'live' ? t('live') : m.mode === 'frozen' ? t('frozen') : t('capture_view');
  mode.className = 'pill ' + (m.mode === 'live' ? '' : 'info');
  renderProvider(m.hello);
  $('st-fps').textContent = t('fps', { value: num(m.fps, 1) });
  $('st-latency').textContent = t('latency', { value: unit('ms', m.latencyMs) });
  $('st-frame').textContent = t('frame_time', { value: unit('ms', m.frameMs, 1) });
  const cmp = $('st-compare');
  show(cmp, !!m.compare);
  if (m.compare) {
    const c = m.compare;
    cmp.textContent = `IoU ${fmt(c.iou, 3)} · F1 ${fmt(c.f1, 3)} · ${c.liveName} ${fmt(c.liveMs)} ms · ${c.otherName} ${fmt(c.otherMs)} ms`;
  }

  // Full-screen state: only over the live view (a frozen frame or a capture stays usable).
  let title = '';
  let detail = '';
  let retry = '';
  if (m.conn !== 'open') {
    if (m.everOpen || m.conn === 'closed') {
      title = t('offline_server');
      detail = t('offline_server_detail');
      if (m.conn === 'closed') retry = t('retry_in', { count: Math.max(0, Math.ceil((m.retryAt - Date.now()) / 1000)) });
      else retry = t('connecting');
    }
  } else if (m.status?.state === 'source-down') {
    title = t('offline_camera');
    detail = m.status.reason ?? '';
  } else if (m.status?.state === 'model-error') {
    title = t('offline_model');
    detail = m.status.reason ?? '';
  }
  const off = $('offline');
  const visible = !!title && m.mode === 'live';
  show(off, visible);
  off.dataset.state = visible ? (m.conn !== 'open' ? 'server' : (m.status?.state ?? '')) : '';
  if (visible) {
    $('offline-title').textContent = title;
    $('offline-detail').textContent = detail;
    $('offline-retry').textContent = retry;
  }
}
