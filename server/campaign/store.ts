// A campaign in Redis, beside BullMQ's own keys. One BullMQ queue (QUEUE) holds the jobs of every
// campaign, so a worker serves all of them, new ones included; a campaign adds two hashes:
//   crackscope:campaign:<name>        meta (JSON): out folder, model, survey options, base campaign
//   crackscope:campaign:<name>:jobs   job id → the image (path, SHA-256, size, output name)
//   crackscope:campaigns              the set of campaign names
// A job's id is <campaign>--<hash of the image's content, the model and the options>, so adding
// the same photograph again adds nothing, and BullMQ keeps done and failed jobs (never removed)
// so the id stays taken.
import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { Queue, type Job } from 'bullmq';

export const QUEUE = 'crackscope-survey';
const KEY = 'crackscope:campaign:';
const SET = 'crackscope:campaigns';

export const CAMPAIGN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Survey options a campaign's jobs share (what `survey` takes, minus what is per machine). */
export interface SurveyJobOptions {
  threshold: number | null;
  mmPerPx: number | null;
  widthClasses: string | null;
  tile: number | null;
  margin: number | null;
  minLengthPx: number | null;
  pdf: boolean;
}

export interface CampaignModel {
  /** what the worker resolves in its models folder: the manifest name, or an .onnx path */
  ref: string;
  name: string;
  version: string;
  /** SHA-256 of the .onnx file at add time (a worker with another file of the same name and version still runs it) */
  sha256: string;
}

export interface CampaignMeta {
  name: string;
  /** absolute; <out>/<name>/<image>/ on every worker (a shared mount) */
  out: string;
  model: CampaignModel;
  options: SurveyJobOptions;
  attempts: number;
  backoffMs: number;
  created: string;
  /** the campaign this one re-runs with another model */
  base: string | null;
}

export interface ImageRecord {
  path: string;
  sha256: string;
  bytes: number;
  width: number;
  height: number;
  /** the output folder's name in <out>/<campaign>/ */
  name: string;
}

export interface JobData {
  campaign: string;
  out: string;
  image: ImageRecord;
  model: CampaignModel;
  options: SurveyJobOptions;
}

export function jobIdFor(campaign: string, imageSha: string, model: CampaignModel, options: SurveyJobOptions): string {
  const h = crypto
    .createHash('sha256')
    .update(JSON.stringify({ image: imageSha, model: { name: model.name, version: model.version, sha256: model.sha256 }, options }))
    .digest('hex');
  return `${campaign}--${h.slice(0, 32)}`;
}

export class CampaignStore {
  constructor(readonly redis: Redis) {}

  async meta(name: string): Promise<CampaignMeta | null> {
    const raw = await this.redis.hget(KEY + name, 'meta');
    return raw ? (JSON.parse(raw) as CampaignMeta) : null;
  }

  async saveMeta(meta: CampaignMeta): Promise<void> {
    await this.redis
      .multi()
      .hset(KEY + meta.name, 'meta', JSON.stringify(meta))
      .sadd(SET, meta.name)
      .exec();
  }

  async names(): Promise<string[]> {
    return (await this.redis.smembers(SET)).sort();
  }

  async jobs(name: string): Promise<Map<string, ImageRecord>> {
    const all = await this.redis.hgetall(`${KEY}${name}:jobs`);
    return new Map(Object.entries(all).map(([id, v]) => [id, JSON.parse(v) as ImageRecord]));
  }

  /** Records the job unless it is there already; true when it is new. */
  async addJob(name: string, jobId: string, image: ImageRecord): Promise<boolean> {
    return (await this.redis.hsetnx(`${KEY}${name}:jobs`, jobId, JSON.stringify(image))) === 1;
  }
}

export function openQueue(redis: Redis): Queue<JobData> {
  return new Queue<JobData>(QUEUE, { connection: redis });
}

export type JobStateName = 'waiting' | 'active' | 'done' | 'failed' | 'retrying' | 'unknown';

export function stateName(s: string): JobStateName {
  if (s === 'completed') return 'done';
  if (s === 'failed') return 'failed';
  if (s === 'active') return 'active';
  if (s === 'delayed') return 'retrying';
  if (s === 'waiting' || s === 'prioritized' || s === 'waiting-children') return 'waiting';
  return 'unknown';
}

/** Every job of a campaign with its state, in batches (one round trip per batch of 200). */
export async function campaignJobs(queue: Queue<JobData>, ids: string[]): Promise<{ id: string; job: Job<JobData> | undefined; state: JobStateName }[]> {
  const out: { id: string; job: Job<JobData> | undefined; state: JobStateName }[] = [];
  for (let i = 0; i < ids.length; i += 200) {
    const batch = ids.slice(i, i + 200);
    const rows = await Promise.all(
      batch.map(async (id) => {
        const job = await queue.getJob(id);
        const state = job ? stateName(await job.getState()) : 'unknown';
        return { id, job, state };
      }),
    );
    out.push(...rows);
  }
  return out;
}
