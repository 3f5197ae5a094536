// Surveys (server/survey/) for the kiosk, read-only, mounted at /api by app.ts:
//   GET /api/surveys                                   list, newest first
//   GET /api/surveys/:name/(overview.jpg|crackmap.geojson|crackmap.svg|survey.json|report.html|report.pdf)
//   GET /api/surveys/:name/dzi/image.dzi               the deep-zoom descriptor
//   GET /api/surveys/:name/dzi/image_files/:level/:col_:row.jpeg
// Surveys are folders in config.surveyDir written by `crackscope survey`; a folder being written
// is hidden (dot name) until it is complete, so the list never shows half a survey.
import fs from 'node:fs/promises';
import path from 'node:path';
import express from 'express';
import type { ServiceContext } from '../service-context.js';
import type { SurveySummary } from '../protocol/api-types.js';

const NAME = /^[\p{L}\p{N}_][\p{L}\p{N}_ .+-]{0,150}$/u;
const FILES: Record<string, string> = {
  'overview.jpg': 'image/jpeg',
  'crackmap.geojson': 'application/geo+json; charset=utf-8',
  'crackmap.svg': 'image/svg+xml',
  'survey.json': 'application/json; charset=utf-8',
  'report.html': 'text/html; charset=utf-8',
  'report.pdf': 'application/pdf',
};
/** The report is self-contained: inline style, data: images; nothing else may load. */
const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

export function surveysRouter(ctx: ServiceContext): express.Router {
  const dir = ctx.config.surveyDir;
  const router = express.Router();

  router.get('/surveys', async (_req, res, next) => {
    try {
      let names: string[] = [];
      try {
        names = await fs.readdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      const list: SurveySummary[] = [];
      for (const name of names) {
        if (!NAME.test(name)) continue;
        try {
          const s = JSON.parse(await fs.readFile(path.join(dir, name, 'survey.json'), 'utf8'));
          list.push({
            name,
            width: s.input.width,
            height: s.input.height,
            cracks: s.totals.cracks,
            lengthPx: s.totals.length_px,
            lengthMm: s.totals.length_mm ?? null,
            mmPerPx: s.calibration?.mmPerPx ?? null,
            created: s.created,
            model: `${s.model.name} ${s.model.version}`,
            sha256: s.input.sha256,
          });
        } catch {
          /* not a survey, or not readable: not listed */
        }
      }
      list.sort((a, b) => b.created.localeCompare(a.created));
      res.set('Cache-Control', 'no-store').json({ surveys: list });
    } catch (err) {
      next(err);
    }
  });

  const send = (res: express.Response, file: string, type: string, next: express.NextFunction) => {
    res.type(type).set('Cache-Control', 'no-cache');
    res.sendFile(file, { dotfiles: 'deny' }, (err) => {
      if (!err) return;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as any).status === 404) {
        if (!res.headersSent) res.status(404).json({ error: 'no such survey file', code: 'not-found' });
      } else next(err);
    });
  };

  router.get('/surveys/:name/dzi/image.dzi', (req, res, next) => {
    if (!NAME.test(req.params.name)) return res.status(404).json({ error: 'no such survey', code: 'not-found' });
    send(res, path.join(dir, req.params.name, 'dzi', 'image.dzi'), 'application/xml; charset=utf-8', next);
  });
  router.get('/surveys/:name/dzi/image_files/:level/:tile', (req, res, next) => {
    const { name, level, tile } = req.params;
    if (!NAME.test(name) || !/^\d{1,2}$/.test(level) || !/^\d{1,6}_\d{1,6}\.jpeg$/.test(tile))
      return res.status(404).json({ error: 'no such tile', code: 'not-found' });
    send(res, path.join(dir, name, 'dzi', 'image_files', level, tile), 'image/jpeg', next);
  });
  router.get('/surveys/:name/:file', (req, res, next) => {
    const { name, file } = req.params;
    const type = FILES[file];
    if (!NAME.test(name) || !type) return res.status(404).json({ error: 'no such survey file', code: 'not-found' });
    if (file === 'report.html') res.set('Content-Security-Policy', REPORT_CSP);
    if (req.query.download !== undefined) res.attachment(`${name}-${file}`);
    send(res, path.join(dir, name, file), type, next);
  });
  return router;
}
