// Bundles the kiosk (kiosk/src/main.ts + three + the shared wire format) into kiosk/dist/, so the
// page loads with no network: index.html, style.css, app.js (+ source map).
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'kiosk');
const out = path.join(src, 'dist');
fs.mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: [path.join(src, 'src', 'main.ts')],
  outfile: path.join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome100', 'firefox110', 'safari16'],
  minify: process.env.KIOSK_MINIFY !== '0',
  sourcemap: true,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) fs.copyFileSync(path.join(src, f), path.join(out, f));
const bytes = result.metafile.outputs[path.relative(process.cwd(), path.join(out, 'app.js'))]?.bytes ?? fs.statSync(path.join(out, 'app.js')).size;
process.stdout.write(`kiosk: ${path.relative(root, out)}/app.js ${(bytes / 1024).toFixed(0)} KiB\n`);
