// Chinese first, English second. Every visible string of the page is here; elements carry
// data-i18n="key" (text), data-i18n-aria="key" (aria-label + title) or data-i18n-ph="key" (placeholder).
export type Lang = 'zh' | 'en';

const STRINGS = {
  title: ['裂缝观察', 'Crack viewer'],
  live: ['实时', 'Live'],
  frozen: ['已冻结', 'Frozen'],
  capture_view: ['存档', 'Capture'],
  freeze: ['冻结', 'Freeze'],
  unfreeze: ['返回实时', 'Back to live'],
  capture: ['保存', 'Save'],
  overlay: ['显示', 'Overlay'],
  measure: ['测量', 'Measure'],
  gallery: ['存档', 'Gallery'],
  compare: ['对比', 'Compare'],
  models: ['模型对比', 'Models'],
  model_off: ['不对比', 'Off'],
  view_swipe: ['滑动', 'Swipe'],
  view_toggle: ['轻点切换', 'Tap to switch'],
  view_diff: ['差异', 'Differences'],
  only: ['仅', 'only'],
  agreement: ['一致', 'agreement'],
  lang_switch: ['English', '中文'],
  mode_heat: ['热度', 'Heat'],
  mode_solid: ['纯色', 'Solid'],
  mode_outline: ['轮廓', 'Outline'],
  opacity: ['透明度', 'Opacity'],
  threshold: ['阈值', 'Threshold'],
  fps: ['帧/秒', 'fps'],
  latency: ['延迟', 'latency'],
  frame_time: ['帧时', 'frame'],
  connecting: ['正在连接…', 'Connecting…'],
  connected: ['已连接', 'Connected'],
  offline_server: ['与服务器的连接已断开', 'The server cannot be reached'],
  offline_server_detail: ['正在自动重连', 'Reconnecting automatically'],
  retry_in: ['秒后重试', 's until the next try'],
  offline_camera: ['相机没有画面', 'The camera sends no picture'],
  offline_model: ['识别模型出错', 'The crack model has failed'],
  offline_starting: ['正在启动…', 'Starting…'],
  waiting_frames: ['等待画面…', 'Waiting for frames…'],
  hint: ['单指拖动 · 双指缩放 · 双击复位', 'Drag with one finger · pinch to zoom · double-tap to reset'],
  hint_compare: ['左右拖动分隔线对比', 'Drag the divider to compare'],
  saved: ['已保存', 'Saved'],
  save_failed: ['保存失败', 'Saving failed'],
  deleted: ['已删除', 'Deleted'],
  delete_failed: ['删除失败', 'Delete failed'],
  gallery_empty: ['还没有存档', 'No captures yet'],
  surveys: ['全图勘测', 'Surveys'],
  surveys_empty: ['还没有勘测（crackscope survey）', 'No surveys yet (crackscope survey)'],
  survey_tap: ['点选裂缝查看数据', 'tap a crack for its numbers'],
  crack_map: ['裂缝图', 'Crack map'],
  report: ['报告', 'Report'],
  width_class: ['宽度等级', 'width class'],
  open: ['查看', 'Open'],
  download: ['下载', 'Download'],
  delete: ['删除', 'Delete'],
  close: ['关闭', 'Close'],
  admin_token: ['管理口令', 'Admin token'],
  cracks: ['条裂缝', 'cracks'],
  crack: ['裂缝', 'Crack'],
  length: ['长度', 'Length'],
  max_width: ['最大宽度', 'Max width'],
  mean_width: ['平均宽度', 'Mean width'],
  area: ['面积', 'Area'],
  total_length: ['总长度', 'Total length'],
  no_cracks: ['未发现裂缝', 'No cracks found'],
  measure_needs_freeze: ['先冻结画面再测量', 'Freeze the view to measure'],
  measuring: ['正在测量…', 'Measuring…'],
  measure_failed: ['测量失败', 'Measuring failed'],
  calibrate: ['校准', 'Calibrate'],
  calibrate_hint: ['在画面上点两个已知距离的点', 'Tap two points a known distance apart'],
  distance_mm: ['距离 (毫米)', 'Distance (mm)'],
  save_calibration: ['保存校准', 'Save calibration'],
  cancel: ['取消', 'Cancel'],
  calibrated: ['已校准', 'Calibrated'],
  not_calibrated: ['未校准 (像素)', 'Not calibrated (pixels)'],
  calibration_failed: ['校准失败', 'Calibration failed'],
  tap_crack: ['点选裂缝查看数据', 'Tap a crack to see its numbers'],
  px: ['像素', 'px'],
} satisfies Record<string, [string, string]>;

export type StringKey = keyof typeof STRINGS;

let lang: Lang = 'zh';
const listeners: ((l: Lang) => void)[] = [];

export const getLang = () => lang;
export const t = (key: StringKey): string => STRINGS[key][lang === 'zh' ? 0 : 1];

export function setLang(l: Lang): void {
  lang = l;
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
  applyI18n(document.body);
  for (const fn of listeners) fn(l);
}

export function onLangChange(fn: (l: Lang) => void): void {
  listeners.push(fn);
}

export function applyI18n(root: ParentNode): void {
  root.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => (el.textContent = t(el.dataset.i18n as StringKey)));
  root.querySelectorAll<HTMLElement>('[data-i18n-aria]').forEach((el) => {
    const s = t(el.dataset.i18nAria as StringKey);
    el.setAttribute('aria-label', s);
    el.title = s;
  });
  root.querySelectorAll<HTMLInputElement>('[data-i18n-ph]').forEach((el) => (el.placeholder = t(el.dataset.i18nPh as StringKey)));
}
