// The kiosk's languages (issue 22): one JSON catalogue per language in the folder named by
// `kioskLanguages` (default: kiosk/locales/ in the package), read once at start. The file name is
// the language code (fr.json, ar.json, pt-BR.json); the catalogue's "meta" gives the language's
// own name and its direction. Adding a language is dropping a file there and restarting.
//   GET /api/kiosk/languages          {default, languages: [{code, name, dir}]}
//   GET /api/kiosk/languages/<code>   the catalogue (i18next JSON v4: nested keys, _one/_other plurals)
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { oneLine } from '../log/one-line.js';

export const LANG_CODE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

export interface KioskLanguage {
  code: string;
  /** the language's name in itself: Français, 中文, العربية */
  name: string;
  dir: 'ltr' | 'rtl';
}

export interface KioskLanguages {
  default: string | null;
  languages: KioskLanguage[];
  catalogues: Map<string, Record<string, unknown>>;
}

/**
 * Reads every <code>.json in the folder. A file that is not a usable catalogue is skipped with a
 * warning (the kiosk still starts); a missing folder, no usable catalogue at all, or a default
 * language without a catalogue is a config error (exit 78).
 */
export function loadKioskLanguages(config: Pick<Config, 'kioskLanguages' | 'kioskDefaultLanguage'>, log: Logger): KioskLanguages {
  const dir = config.kioskLanguages;
  let names: string[];
  try {
    names = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort();
  } catch (err) {
    throw new ConfigError(
      `config error: kioskLanguages = ${JSON.stringify(dir)} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); expected a directory of <language>.json catalogues`,
    );
  }
  const catalogues = new Map<string, Record<string, unknown>>();
  const languages: KioskLanguage[] = [];
  for (const file of names) {
    const code = file.slice(0, -'.json'.length);
    const skip = (reason: string) => log.warn('kiosk.language_skipped', { file: path.join(dir, file), reason });
    if (!LANG_CODE.test(code)) {
      skip('the file name must be a language code such as fr.json or pt-BR.json');
      continue;
    }
    let cat: any;
    try {
      cat = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    } catch (err) {
      skip(`not valid JSON: ${oneLine(err)}`);
      continue;
    }
    const name = cat?.meta?.name;
    if (typeof cat !== 'object' || cat === null || Array.isArray(cat) || typeof name !== 'string' || !name.trim()) {
      skip('a catalogue is a JSON object with "meta": {"name": "<the language in itself>"}');
      continue;
    }
    const dirAttr = cat.meta.dir === 'rtl' ? 'rtl' : 'ltr';
    catalogues.set(code, cat);
    languages.push({ code, name: name.trim(), dir: dirAttr });
  }
  if (!languages.length)
    throw new ConfigError(
      `config error: kioskLanguages = ${JSON.stringify(dir)} holds no usable <language>.json catalogue; expected a directory of catalogues such as kiosk/locales/`,
    );
  const def = config.kioskDefaultLanguage || null;
  if (def && !catalogues.has(def)) {
    throw new ConfigError(
      `config error: kioskDefaultLanguage = ${JSON.stringify(def)} has no catalogue in ${dir}; expected one of ${languages.map((l) => l.code).join(', ')} (or '' for the browser's language)`,
    );
  }
  log.info('kiosk.languages', { dir, languages: languages.map((l) => l.code), default: def ?? '(browser, else en)' });
  return { default: def, languages, catalogues };
}

export function kioskLanguagesRouter(langs: KioskLanguages): express.Router {
  const r = express.Router();
  r.get('/kiosk/languages', (_req, res) => {
    res.set('Cache-Control', 'no-cache').json({ default: langs.default, languages: langs.languages });
  });
  r.get('/kiosk/languages/:code', (req, res) => {
    const cat = langs.catalogues.get(req.params.code);
    if (!cat) return void res.status(404).json({ error: 'no such language', code: 'not-found' });
    res.set('Cache-Control', 'no-cache').json(cat);
  });
  return r;
}
