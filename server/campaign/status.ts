// Where a campaign stands: counts by state, throughput (image megapixels per second over the last
// minutes, from the jobs' finish times), an ETA, and each failed image with its reason.
import type { Queue } from 'bullmq';
import { campaignJobs, type CampaignMeta, type CampaignStore, type JobData, type JobStateName } from './store.js';
import type { JobResult } from './worker.js';

/** Throughput is measured over this window (or since the campaign's first job started, if later). */
export const THROUGHPUT_WINDOW_S = 300;

export interface ImageStatus {
  job: string;
  name: string;
  image: string;
  megapixels: number;
  state: JobStateName;
  attempts: number;
  reason: string | null;
  progress: number | null;
  result: JobResult | null;
  finished: number | null;
}

export interface CampaignStatus {
  campaign: string;
  out: string;
  model: string;
  base: string | null;
  counts: Record<'total' | 'waiting' | 'active' | 'retrying' | 'done' | 'failed', number>;
  megapixels: { total: number; done: number; remaining: number };
  throughput_mp_per_s: number | null;
  window_s: number;
  eta_s: number | null;
  workers: string[];
  failures: { image: string; name: string; attempts: number; reason: string }[];
  images: ImageStatus[];
}

export async function campaignStatus(store: CampaignStore, queue: Queue<JobData>, meta: CampaignMeta, now = Date.now()): Promise<CampaignStatus> {
  const records = await store.jobs(meta.name);
  const rows = await campaignJobs(queue, [...records.keys()]);
  const images: ImageStatus[] = rows
    .map(({ id, job, state }) => {
      const rec = records.get(id)!;
      return {
        job: id,
        name: rec.name,
        image: rec.path,
        megapixels: (rec.width * rec.height) / 1e6,
        state,
        attempts: job?.attemptsMade ?? 0,
        reason: state === 'failed' || state === 'retrying' ? (job?.failedReason ?? null) : null,
        progress: state === 'active' && typeof job?.progress === 'number' ? job.progress : null,
        result: state === 'done' ? ((job?.returnvalue as JobResult) ?? null) : null,
        finished: state === 'done' ? (job?.finishedOn ?? null) : null,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  const counts = { total: images.length, waiting: 0, active: 0, retrying: 0, done: 0, failed: 0 };
  for (const im of images) if (im.state !== 'unknown') counts[im.state]++;
  const mpOf = (im: ImageStatus) => im.result?.megapixels ?? im.megapixels;
  const total = images.reduce((s, im) => s + mpOf(im), 0);
  const done = images.filter((im) => im.state === 'done').reduce((s, im) => s + mpOf(im), 0);
  const remaining = images.filter((im) => im.state !== 'done' && im.state !== 'failed').reduce((s, im) => s + mpOf(im), 0);
  // throughput: MP finished in the window over the window (from the first job's start if the campaign is younger)
  const starts = rows.map((r) => r.job?.processedOn).filter((t): t is number => typeof t === 'number');
  const firstStart = starts.length ? Math.min(...starts) : null;
  const from = Math.max(now - THROUGHPUT_WINDOW_S * 1000, firstStart ?? now);
  const recent = images.filter((im) => im.finished !== null && im.finished >= from).reduce((s, im) => s + mpOf(im), 0);
  const span = (now - from) / 1000;
  const throughput = firstStart !== null && span > 0.5 && recent > 0 ? recent / span : null;
  const workers = [...new Set(images.map((im) => im.result?.worker).filter((w): w is string => !!w))].sort();
  return {
    campaign: meta.name,
    out: meta.out,
    model: `${meta.model.name} ${meta.model.version}`,
    base: meta.base,
    counts,
    megapixels: { total: r2(total), done: r2(done), remaining: r2(remaining) },
    throughput_mp_per_s: throughput === null ? null : Math.round(throughput * 1000) / 1000,
    window_s: Math.round(span),
    eta_s: throughput && remaining > 0 ? Math.round(remaining / throughput) : remaining === 0 ? 0 : null,
    workers,
    failures: images
      .filter((im) => im.state === 'failed')
      .map((im) => ({ image: im.image, name: im.name, attempts: im.attempts, reason: im.reason ?? 'unknown' })),
    images,
  };
}

const r2 = (v: number) => Math.round(v * 100) / 100;

export const formatDuration = (s: number) =>
  s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
      : `${Math.round(s)}s`;

export function formatStatus(s: CampaignStatus): string {
  const c = s.counts;
  const lines = [
    `campaign ${s.campaign}: ${c.done}/${c.total} done, ${c.active} active, ${c.waiting} waiting${c.retrying ? `, ${c.retrying} retrying` : ''}, ${c.failed} failed  (model ${s.model}${s.base ? `, re-run of ${s.base}` : ''})`,
    `  ${s.megapixels.done.toFixed(1)} of ${s.megapixels.total.toFixed(1)} MP; throughput ${s.throughput_mp_per_s === null ? '–' : `${s.throughput_mp_per_s.toFixed(2)} MP/s over the last ${formatDuration(s.window_s)}`}; ETA ${s.eta_s === null ? '–' : s.eta_s === 0 ? 'done' : formatDuration(s.eta_s)}`,
    `  out: ${s.out}/${s.campaign}/${s.workers.length ? `; workers: ${s.workers.join(', ')}` : ''}`,
  ];
  for (const im of s.images.filter((i) => i.state === 'active')) lines.push(`  active: ${im.name}${im.progress !== null ? ` (tiles ${im.progress}%)` : ''}`);
  for (const im of s.images.filter((i) => i.state === 'retrying')) lines.push(`  retrying: ${im.name} after attempt ${im.attempts}: ${im.reason}`);
  for (const f of s.failures) lines.push(`  FAILED ${f.name} (${f.image}) after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}: ${f.reason}`);
  return lines.join('\n');
}
