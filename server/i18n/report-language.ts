// The language of reports written by commands (`survey --lang`), from the same catalogues as the
// kiosk (issue 22): <kioskLanguages>/<code>.json, its "report" section; English (the shipped
// catalogue) fills any key a catalogue lacks. Numbers through Intl.NumberFormat in that language,
// without grouping (report tables are read by eye and by scripts alike).
import fs from 'node:fs';
import path from 'node:path';
import i18next, { type TOptions } from 'i18next';
import { ConfigError } from '../config/load.js';
import { PROJECT_ROOT } from '../config/schema.js';

export interface ReportLanguage {
  lang: string;
  dir: 'ltr' | 'rtl';
  t(key: string, opts?: TOptions): string;
  /** a number with exactly `digits` decimals, in the language's digits and separators */
  num(v: number, digits?: number): string;
  /** the numbers inside a plain-English figure such as a width class's range ("0.1–0.3 mm"), in the language's format */
  nums(text: string): string;
}

const SHIPPED = path.join(PROJECT_ROOT, 'kiosk', 'locales');
const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

export function reportLanguage(lang = 'en', folder = SHIPPED): ReportLanguage {
  if (!/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(lang))
    throw new ConfigError(`config error: --lang = ${JSON.stringify(lang)} is not allowed; expected a language code such as en, fr or zh`);
  const en = read(path.join(SHIPPED, 'en.json'));
  let cat = lang === 'en' ? en : null;
  for (const dir of [folder, SHIPPED]) {
    if (cat) break;
    const file = path.join(dir, `${lang}.json`);
    if (fs.existsSync(file)) cat = read(file);
  }
  if (!cat) {
    const have = [
      ...new Set(
        [folder, SHIPPED]
          .flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d) : []))
          .filter((f) => f.endsWith('.json'))
          .map((f) => f.slice(0, -5)),
      ),
    ].sort();
    throw new ConfigError(`config error: --lang = ${JSON.stringify(lang)} has no catalogue; expected one of ${have.join(', ')}`);
  }
  const i18n = i18next.createInstance();
  void i18n.init({
    lng: lang,
    fallbackLng: 'en',
    resources: { en: { translation: en }, [lang]: { translation: cat } },
    interpolation: { escapeValue: false },
    initAsync: false,
    showSupportNotice: false,
  } as any);
  const num = (v: number, digits = 0) =>
    new Intl.NumberFormat(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false }).format(v);
  return {
    lang,
    dir: cat.meta?.dir === 'rtl' ? 'rtl' : 'ltr',
    t: (key, opts) => i18n.t(`report.${key}`, opts) as string,
    num,
    nums: (text) => text.replace(/\d+(?:\.(\d+))?/g, (m, dec: string | undefined) => num(Number(m), dec?.length ?? 0)),
  };
}
