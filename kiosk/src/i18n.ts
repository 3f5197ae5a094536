// The kiosk's languages (issue 22), through i18next. Strings live in one JSON catalogue per
// language, served by the daemon from the folder named in the config (`kioskLanguages`); English
// is also bundled here, so the page can always speak (and every missing key falls back to it).
// Elements carry data-i18n="key" (text), data-i18n-aria="key" (aria-label + title) or
// data-i18n-ph="key" (placeholder). Numbers go through Intl.NumberFormat in the language shown.
//
// Which language the kiosk opens in, and returns to after the idle timeout: `?lang=` in the URL
// (one screen's own setting), else the config's kioskDefaultLanguage, else the browser's language
// (navigator.languages, exact or by base language), else English.
import i18next, { type TOptions } from 'i18next';
import en from '../locales/en.json';

export type Lang = string;
export interface LanguageInfo {
  code: string;
  name: string;
  dir: 'ltr' | 'rtl';
}

const i18n = i18next.createInstance();
let languages: LanguageInfo[] = [{ code: 'en', name: 'English', dir: 'ltr' }];
let defaultLang: Lang = 'en';
const listeners: ((l: Lang) => void)[] = [];

void i18n.init({
  lng: 'en',
  fallbackLng: 'en',
  resources: { en: { translation: en } },
  interpolation: { escapeValue: false }, // text goes into textContent, never innerHTML
  initAsync: false,
  showSupportNotice: false,
} as any);

export const getLang = (): Lang => i18n.language;
export const getDefaultLang = (): Lang => defaultLang;
export const getLanguages = (): LanguageInfo[] => languages;
export const t = (key: string, opts?: TOptions): string => i18n.t(key, opts) as string;

/** A number in the language shown (decimal separator, digits, grouping). */
export function num(v: number | undefined, digits = 0): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  // grouping from five digits on (1234.5 but 12,345.6), as technical style guides write lengths
  return new Intl.NumberFormat(i18n.language, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
    useGrouping: 'min2',
  } as unknown as Intl.NumberFormatOptions).format(v);
}
/** A value with its unit, e.g. unit('mm', 1.5, 2) → "1.50 mm" / "1,50 mm" / "١٫٥٠ ملم". */
export function unit(u: 'px' | 'px2' | 'mm' | 'mm2' | 'm' | 'ms' | 'kb' | 'mp', v: number | undefined, digits = 0): string {
  return t(`unit.${u}`, { value: num(v, digits) });
}
/** A date and time in the language shown. */
export function dateTime(d: Date): string {
  return d.toLocaleString(i18n.language, { dateStyle: 'short', timeStyle: 'medium' });
}

/** The language to open in: the URL's, the config's, the browser's, English — the first one we have. */
export function pickDefault(urlLang: string | null, configured: string | null, browser: readonly string[], have: string[]): Lang {
  const match = (want: string | null | undefined): string | null => {
    if (!want) return null;
    if (have.includes(want)) return want;
    const base = want.split('-')[0].toLowerCase();
    return have.find((c) => c === base) ?? have.find((c) => c.split('-')[0] === base) ?? null;
  };
  if (match(urlLang)) return match(urlLang)!;
  if (match(configured)) return match(configured)!;
  for (const b of browser) if (match(b)) return match(b)!;
  return have.includes('en') ? 'en' : (have[0] ?? 'en');
}

/**
 * Loads the daemon's list of languages and every catalogue (a few KB each: switching is then
 * instant, and works while the server is down). Returns the default language.
 */
export async function loadLanguages(urlLang: string | null): Promise<Lang> {
  try {
    const r = await fetch('api/kiosk/languages');
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const list = (await r.json()) as { default: string | null; languages: LanguageInfo[] };
    const cats = await Promise.all(
      list.languages.map((l) =>
        fetch(`api/kiosk/languages/${encodeURIComponent(l.code)}`).then(
          (x) => (x.ok ? x.json() : null),
          () => null,
        ),
      ),
    );
    languages = list.languages.filter((_, i) => cats[i]);
    list.languages.forEach((l, i) => cats[i] && i18n.addResourceBundle(l.code, 'translation', cats[i], true, true));
    defaultLang = pickDefault(
      urlLang,
      list.default,
      navigator.languages ?? [navigator.language],
      languages.map((l) => l.code),
    );
  } catch (err) {
    console.warn('crackscope: languages not loaded, English only:', (err as Error).message);
    defaultLang = 'en';
  }
  return defaultLang;
}

export function setLang(l: Lang): void {
  const info = languages.find((x) => x.code === l) ?? { code: 'en', name: 'English', dir: 'ltr' as const };
  void i18n.changeLanguage(info.code);
  document.documentElement.lang = info.code === 'zh' ? 'zh-CN' : info.code;
  document.documentElement.dir = info.dir;
  applyI18n(document.body);
  for (const fn of listeners) fn(info.code);
}

export function onLangChange(fn: (l: Lang) => void): void {
  listeners.push(fn);
}

export function applyI18n(root: ParentNode): void {
  root.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => (el.textContent = t(el.dataset.i18n!)));
  root.querySelectorAll<HTMLElement>('[data-i18n-aria]').forEach((el) => {
    const s = t(el.dataset.i18nAria!);
    el.setAttribute('aria-label', s);
    el.title = s;
  });
  root.querySelectorAll<HTMLInputElement>('[data-i18n-ph]').forEach((el) => (el.placeholder = t(el.dataset.i18nPh!)));
}
