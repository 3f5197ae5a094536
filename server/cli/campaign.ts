// `crackscope campaign add|status|report|rerun …` (commands/campaign.ts) and `crackscope worker`
// (commands/worker.ts): survey campaigns spread over many workers through BullMQ on Redis
// (server/campaign/README.md). Exit 0 done, 1 a failure the output names, 64 usage, 69 Redis
// unusable (bad URL, no server), 78 config or model.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { configFromOptions } from './config-options.js';
import { UsageError } from './program.js';
import { resolveModel } from '../inference/manifest.js';
import { createLogger } from '../log/logger.js';
import { expandInput, isImageFile } from '../config/image-files.js';
import { MAX_INPUT_PIXELS } from '../survey/run-survey.js';
import { printPdf } from '../survey/report.js';
import { reportLanguage, type ReportLanguage } from '../i18n/report-language.js';
import { connectRedis } from '../campaign/redis.js';
import {
  CAMPAIGN_NAME,
  CampaignStore,
  jobIdFor,
  openQueue,
  type CampaignMeta,
  type ImageRecord,
  type JobData,
  type SurveyJobOptions,
} from '../campaign/store.js';
import { campaignStatus, formatDuration, formatStatus } from '../campaign/status.js';
import { campaignReportHtml, type ReportImage } from '../campaign/report.js';
import { writeFileAtomicSync } from '../storage/atomic.js';
import { compareCampaignOutputs, type CampaignComparison } from '../campaign/compare.js';
import { startCampaignWorker } from '../campaign/worker.js';
import { oneLine } from '../log/one-line.js';
import type { SurveyFlags } from './survey.js';

const say = (line: string) => process.stderr.write(`crackscope campaign: ${line}\n`);

interface CampaignFlags extends SurveyFlags {
  redis: string;
  attempts?: number;
  backoffMs?: number;
  as?: string;
  wait?: boolean;
  timeoutS?: number;
}

export async function runCampaign(args: string[], opts: Record<string, unknown>): Promise<number> {
  const [action, name, ...inputs] = args;
  const flags = opts as unknown as CampaignFlags;
  if (!CAMPAIGN_NAME.test(name))
    throw new UsageError(`campaign name ${JSON.stringify(name)}: letters, digits, '.', '_' and '-', up to 64, starting with a letter or digit`);
  if (action === 'add' && inputs.length === 0) throw new UsageError('campaign add needs at least one folder, image or list file');
  if (action !== 'add' && inputs.length > 0) throw new UsageError(`campaign ${action} takes only the campaign's name`);
  if (action === 'rerun' && !opts.model) throw new UsageError('campaign rerun needs --model NAME (the model to run the same photographs with)');
  const config = configFromOptions(opts); // ConfigError → exit 78
  // the report's language, checked before Redis is asked anything: --lang, else the kiosk's default, else English
  const language =
    action === 'report' || (action === 'rerun' && flags.wait)
      ? reportLanguage(flags.lang ?? (config.kioskDefaultLanguage || 'en'), config.kioskLanguages)
      : null;
  if (flags.lang !== undefined && !language) throw new UsageError(`--lang is for campaign report (and rerun --wait), not campaign ${action}`);
  const redis = await connectRedis(flags.redis, { name: `crackscope-campaign-${action}` }); // RedisUnavailableError → exit 69
  const store = new CampaignStore(redis);
  const queue = openQueue(redis);
  try {
    if (action === 'add') return await add(name, inputs, flags, config, store, queue);
    const meta = await store.meta(name);
    if (!meta) {
      const known = await store.names();
      say(`no campaign ${JSON.stringify(name)} in this Redis; known: ${known.length ? known.join(', ') : 'none'}`);
      return 1;
    }
    if (action === 'status') {
      const s = await campaignStatus(store, queue, meta);
      if (flags.json) process.stdout.write(JSON.stringify(s) + '\n');
      else process.stdout.write(formatStatus(s) + '\n');
      return 0;
    }
    if (action === 'report') return await report(meta, store, queue, flags, language!);
    if (action === 'rerun') return await rerun(meta, flags, config, store, queue, language);
    throw new UsageError(`unknown action ${action}`);
  } finally {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}

/** The survey flags a campaign's jobs share (their values checked by the spec's parsers, commands/parse.ts). */
function surveyOptions(flags: CampaignFlags, modelThreshold: number): SurveyJobOptions {
  return {
    threshold: flags.threshold ?? modelThreshold,
    mmPerPx: flags.mmPerPx ?? null,
    widthClasses: flags.widthClasses ?? null,
    tile: flags.tile ?? null,
    margin: flags.margin ?? null,
    minLengthPx: flags.minLengthPx ?? null,
    pdf: flags.pdf !== false,
  };
}

function modelOf(config: ReturnType<typeof configFromOptions>) {
  const files = resolveModel(config.modelsDir, config.model); // ModelError → exit 78
  const sha = crypto.createHash('sha256').update(fs.readFileSync(files.onnxPath)).digest('hex');
  return {
    files,
    model: {
      ref: config.model.endsWith('.onnx') ? files.onnxPath : files.manifest.name,
      name: files.manifest.name,
      version: files.manifest.version,
      sha256: sha,
    },
  };
}

/** Images named by folders, image files and list files (one path a line, relative to the list; # comments). */
function listImages(inputs: string[]): { images: string[]; errors: string[] } {
  const images: string[] = [],
    errors: string[] = [];
  for (const input of inputs) {
    const isList = fs.existsSync(input) && fs.statSync(input).isFile() && !isImageFile(input);
    if (isList) {
      const dir = path.dirname(path.resolve(input));
      for (const raw of fs.readFileSync(input, 'utf8').split('\n')) {
        const line = raw.trim();
        if (!line || line.startsWith('#')) continue;
        const r = expandInput(path.resolve(dir, line));
        if (r.error) errors.push(`${line}: ${r.error}`);
        else images.push(...r.images);
      }
      continue;
    }
    const r = expandInput(input);
    if (r.error) errors.push(`${input}: ${r.error}`);
    else images.push(...r.images);
  }
  return { images: images.map((p) => path.resolve(p)), errors };
}

async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function enqueue(meta: CampaignMeta, records: ImageRecord[], store: CampaignStore, queue: ReturnType<typeof openQueue>) {
  let added = 0;
  const bulk: {
    name: string;
    data: JobData;
    opts: { jobId: string; attempts: number; backoff: { type: 'exponential'; delay: number }; removeOnComplete: false; removeOnFail: false };
  }[] = [];
  for (const rec of records) {
    const jobId = jobIdFor(meta.name, rec.sha256, meta.model, meta.options);
    if (!(await store.addJob(meta.name, jobId, rec))) {
      // recorded before; queued again only if BullMQ has lost it (a Redis restored without its append-only file)
      if (await queue.getJob(jobId)) continue;
    }
    added++;
    bulk.push({
      name: 'survey',
      data: { campaign: meta.name, out: meta.out, image: rec, model: meta.model, options: meta.options },
      opts: { jobId, attempts: meta.attempts, backoff: { type: 'exponential', delay: meta.backoffMs }, removeOnComplete: false, removeOnFail: false },
    });
  }
  for (let i = 0; i < bulk.length; i += 500) await queue.addBulk(bulk.slice(i, i + 500));
  return added;
}

async function add(
  name: string,
  inputs: string[],
  flags: CampaignFlags,
  config: ReturnType<typeof configFromOptions>,
  store: CampaignStore,
  queue: ReturnType<typeof openQueue>,
): Promise<number> {
  const { files, model } = modelOf(config);
  const options = surveyOptions(flags, files.manifest.threshold);
  const existing = await store.meta(name);
  let meta: CampaignMeta;
  if (existing) {
    const same =
      existing.model.name === model.name &&
      existing.model.version === model.version &&
      existing.model.sha256 === model.sha256 &&
      JSON.stringify(existing.options) === JSON.stringify(options);
    if (!same)
      throw new UsageError(
        `campaign ${name} runs ${existing.model.name} ${existing.model.version} with ${JSON.stringify(existing.options)}; these photographs would run ${model.name} ${model.version} with ${JSON.stringify(options)}. Add them with the same model and flags, or start another campaign (\`campaign rerun\` runs a campaign again with another model)`,
      );
    if (flags.out !== undefined && path.resolve(flags.out) !== existing.out)
      throw new UsageError(`campaign ${name} writes to ${existing.out}, not ${path.resolve(flags.out)}`);
    meta = existing;
  } else {
    meta = {
      name,
      out: path.resolve(flags.out ?? path.join(config.surveyDir, 'campaigns')),
      model,
      options,
      attempts: flags.attempts ?? 3,
      backoffMs: flags.backoffMs ?? 5000,
      created: new Date().toISOString(),
      base: null,
    };
    await store.saveMeta(meta);
  }
  const { images, errors } = listImages(inputs);
  for (const e of errors) say(`${e}`);
  const known = await store.jobs(name);
  const nameOwner = new Map([...known.values()].map((r) => [r.name, r.path]));
  const byPath = new Map([...known.values()].map((r) => [r.path, r]));
  const records: ImageRecord[] = [];
  let unreadable = 0;
  for (const image of images) {
    let sha: string, bytes: number;
    try {
      sha = await sha256File(image);
      bytes = fs.statSync(image).size;
    } catch (err) {
      say(`${image}: cannot read it (${(err as NodeJS.ErrnoException).code ?? oneLine(err)})`);
      unreadable++;
      continue;
    }
    const meta0 = await sharp(image, { limitInputPixels: MAX_INPUT_PIXELS })
      .metadata()
      .catch(() => null); // a corrupt image is still added: its job fails with the reason
    const swap = (meta0?.orientation ?? 1) >= 5;
    const width = (swap ? meta0?.height : meta0?.width) ?? 0,
      height = (swap ? meta0?.width : meta0?.height) ?? 0;
    // output name: the file's stem; the same path keeps its name (a replaced photograph replaces its survey); another file of the same stem gets -2, -3, …
    const stem = path.basename(image).replace(/\.[^.]+$/, '') || 'image';
    let outName = byPath.get(image)?.name ?? stem;
    if (!byPath.has(image)) for (let i = 2; nameOwner.has(outName) && nameOwner.get(outName) !== image; i++) outName = `${stem}-${i}`;
    nameOwner.set(outName, image);
    records.push({ path: image, sha256: sha, bytes, width, height, name: outName });
  }
  const added = await enqueue(meta, records, store, queue);
  const total = (await store.jobs(name)).size;
  const line = `campaign ${name}: ${added} image${added === 1 ? '' : 's'} added, ${records.length - added} already there; ${total} in the campaign (${meta.model.name} ${meta.model.version}) -> ${meta.out}/${name}/`;
  if (flags.json) {
    process.stderr.write(line + '\n');
    process.stdout.write(
      JSON.stringify({
        campaign: name,
        added,
        already: records.length - added,
        total,
        unreadable: unreadable + errors.length,
        out: path.join(meta.out, name),
      }) + '\n',
    );
  } else process.stdout.write(line + '\n');
  return unreadable + errors.length > 0 ? 1 : 0;
}

async function report(
  meta: CampaignMeta,
  store: CampaignStore,
  queue: ReturnType<typeof openQueue>,
  flags: CampaignFlags,
  language: ReportLanguage,
): Promise<number> {
  const status = await campaignStatus(store, queue, meta);
  const dir = path.join(meta.out, meta.name);
  fs.mkdirSync(dir, { recursive: true });
  const images: ReportImage[] = status.images.map((im) => {
    let survey = null;
    if (im.state === 'done') {
      try {
        survey = JSON.parse(fs.readFileSync(path.join(dir, im.name, 'survey.json'), 'utf8'));
      } catch {
        /* not on this machine's mount */
      }
    }
    return { name: im.name, image: im.image, state: im.state, megapixels: im.megapixels, reason: im.reason, survey };
  });
  let comparison: CampaignComparison | null = null;
  if (meta.base) {
    const baseMeta = await store.meta(meta.base);
    if (baseMeta) {
      comparison = await compareCampaignOutputs(
        { name: baseMeta.name, dir: path.join(baseMeta.out, baseMeta.name), model: `${baseMeta.model.name} ${baseMeta.model.version}` },
        { name: meta.name, dir, model: `${meta.model.name} ${meta.model.version}` },
        images.filter((i) => i.survey).map((i) => i.name),
      );
      writeFileAtomicSync(path.join(dir, 'comparison.json'), JSON.stringify(comparison, null, 2) + '\n');
    }
  }
  const created = new Date().toISOString();
  const html = campaignReportHtml(status, images, comparison, created, language);
  const htmlFile = path.join(dir, 'campaign-report.html');
  writeFileAtomicSync(htmlFile, html);
  writeFileAtomicSync(
    path.join(dir, 'campaign.json'),
    JSON.stringify({ ...status, images: status.images.map(({ result: _r, ...i }) => i), created }, null, 2) + '\n',
  );
  let pdf = 'no PDF: --no-pdf';
  if (flags.pdf !== false) {
    const tmp = path.join(dir, `.campaign-report.pdf.tmp-${process.pid}`);
    try {
      await printPdf(html, tmp, process.env.CRACKSCOPE_CHROMIUM ?? '/usr/bin/chromium');
      fs.renameSync(tmp, path.join(dir, 'campaign-report.pdf'));
      pdf = 'campaign-report.pdf';
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      pdf = `no PDF: ${oneLine(err)}`;
    }
  }
  const c = status.counts;
  const cmp = comparison
    ? `; vs ${comparison.base}: ${comparison.totals.added} added, ${comparison.totals.lost} lost, ${comparison.totals.changed} changed, IoU ${comparison.totals.iou_pooled.toFixed(3)}`
    : '';
  const line = `campaign ${meta.name}: ${c.done}/${c.total} done, ${c.failed} failed${cmp} -> ${htmlFile} (${pdf})`;
  if (flags.json) {
    process.stderr.write(line + '\n');
    process.stdout.write(
      JSON.stringify({
        campaign: meta.name,
        report: htmlFile,
        pdf: pdf === 'campaign-report.pdf' ? path.join(dir, pdf) : null,
        counts: c,
        comparison: comparison?.totals ?? null,
      }) + '\n',
    );
  } else process.stdout.write(line + '\n');
  return 0;
}

async function rerun(
  base: CampaignMeta,
  flags: CampaignFlags,
  config: ReturnType<typeof configFromOptions>,
  store: CampaignStore,
  queue: ReturnType<typeof openQueue>,
  language: ReportLanguage | null,
): Promise<number> {
  const { files, model } = modelOf(config);
  const name = flags.as ?? `${base.name}-${model.name}`;
  if (!CAMPAIGN_NAME.test(name))
    throw new UsageError(`campaign name ${JSON.stringify(name)} (from --as or <campaign>-<model>): letters, digits, '.', '_' and '-', up to 64`);
  if (name === base.name) throw new UsageError('the re-run needs a name of its own (--as NAME)');
  // the same options, except the threshold when the base used its model's own: the new model's own then
  const baseThresholdWasModels = flags.threshold === undefined;
  const options = {
    ...base.options,
    threshold: baseThresholdWasModels ? files.manifest.threshold : base.options.threshold,
    pdf: flags.pdf === false ? false : base.options.pdf,
  };
  let meta = await store.meta(name);
  if (meta && meta.base !== base.name) {
    say(`campaign ${name} exists and is not a re-run of ${base.name}; give another --as NAME`);
    return 1;
  }
  if (!meta) {
    meta = {
      name,
      out: flags.out !== undefined ? path.resolve(flags.out) : base.out,
      model,
      options,
      attempts: flags.attempts ?? base.attempts,
      backoffMs: flags.backoffMs ?? base.backoffMs,
      created: new Date().toISOString(),
      base: base.name,
    };
    await store.saveMeta(meta);
  }
  const records = [...(await store.jobs(base.name)).values()];
  const added = await enqueue(meta, records, store, queue);
  process.stderr.write(
    `campaign ${name}: re-run of ${base.name} with ${model.name} ${model.version}: ${added} image${added === 1 ? '' : 's'} added (${records.length} in all) -> ${meta.out}/${name}/\n`,
  );
  if (!flags.wait) {
    process.stdout.write(
      `campaign ${name}: queued; follow it with \`crackscope campaign status ${name}\`, then \`crackscope campaign report ${name}\` compares it with ${base.name}\n`,
    );
    return 0;
  }
  const deadline = Date.now() + (flags.timeoutS ?? 86_400) * 1000;
  for (;;) {
    const s = await campaignStatus(store, queue, meta);
    if (s.counts.waiting + s.counts.active + s.counts.retrying === 0) break;
    if (Date.now() > deadline) {
      say(`campaign ${name}: not finished within --timeout-s; ${s.counts.done}/${s.counts.total} done`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return report(meta, store, queue, flags, language ?? reportLanguage('en'));
}

/** `crackscope worker --redis URL [--concurrency N] [--metrics-port N]` */
export async function runWorker(opts: Record<string, unknown>): Promise<number> {
  const flags = opts as { redis: string; concurrency: number; lockMs?: number; metricsPort?: number; metricsListen?: string };
  const config = configFromOptions(opts);
  const log = createLogger(config.quiet ? 'warn' : config.logLevel, { service: 'crackscope', cmd: 'worker' });
  const redis = await connectRedis(flags.redis, { name: 'crackscope-worker' }); // exit 69 when it cannot
  redis.on('error', () => undefined);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const w = await startCampaignWorker({ redis, config, log, concurrency: flags.concurrency, lockMs: flags.lockMs, registry });
  let server: http.Server | null = null;
  if (flags.metricsPort !== undefined) {
    server = http.createServer(async (req, res) => {
      if (req.url === '/metrics') {
        res.setHeader('Content-Type', registry.contentType);
        res.end(await registry.metrics());
      } else if (req.url === '/healthz') {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ status: 'ok', active: w.active, redis: redis.status }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(flags.metricsPort, flags.metricsListen ?? '127.0.0.1', () => resolve());
    });
    log.info('worker.metrics', { listen: flags.metricsListen ?? '127.0.0.1', port: (server.address() as { port: number }).port });
  }
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log.info('worker.stopping', { signal: sig, active: w.active });
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  // SIGTERM: the running jobs finish first (BullMQ's close waits for them); a second signal ends at once
  const hard = () => process.exit(130);
  process.once('SIGTERM', hard);
  process.once('SIGINT', hard);
  await w.close();
  server?.closeAllConnections();
  server?.close();
  redis.disconnect();
  log.info('worker.stopped', {});
  setTimeout(() => process.exit(0), 2000).unref(); // whatever else still holds the event loop (a client's keep-alive) must not keep a stopped worker
  return 0;
}

export { formatDuration };
