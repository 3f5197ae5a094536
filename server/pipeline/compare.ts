// Comparison models beside the live one, for the frame pipeline: begin() hands the frame to every
// comparison model right after the live model got it (the live model always goes first), finish()
// waits for them, measures each mask's agreement with the live mask and offers the frame to the
// shadow model. A comparison model that fails on a frame is left out of that frame, counted and
// logged; the live view goes on.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { MaskComparer } from '../inference/agreement.js';
import type { ExtraModel } from '../inference/model-set.js';
import type { Logger } from '../log/logger.js';
import type { CompareModelInfo, ComparisonStats } from '../protocol/wire-format.js';
import { AGREEMENT_BUCKETS, AgreementStats } from './agreement-stats.js';
import { ShadowRunner } from './shadow.js';

/** A comparison model's result on one frame. */
export interface FrameComparison extends ComparisonStats {
  mask: Uint8Array;
}

export interface PendingComparison {
  /** Waits for the comparison models and measures them against the live mask. */
  finish(liveMask: Uint8Array, frame: { frameId: number; capturedAt: number }): Promise<FrameComparison[]>;
  /** The live model failed: waits for the comparison runs (they read the frame buffer) and drops them. */
  abandon(): Promise<void>;
}

export interface FrameComparerOptions {
  compare: ExtraModel[];
  shadow?: ExtraModel;
  live: { name: string; version: string; thresholdByte: number };
  shadowRate: number;
  shadowKeep: number;
  dataDir: string;
  width: number;
  height: number;
  log: Logger;
}

/** Prometheus histograms of per-frame agreement, observed as frames are compared (registered by metrics.ts). */
function agreementHistograms(prefix: string, who: string, labelNames: string[]) {
  const make = (what: string) =>
    new Histogram({
      name: `${prefix}_${what}`,
      help: `Per-frame ${what === 'iou' ? 'IoU' : 'F1'} of ${who}'s mask with the live mask.`,
      labelNames,
      buckets: AGREEMENT_BUCKETS,
      registers: [],
    });
  return { iou: make('iou'), f1: make('f1') };
}

export class FrameComparer {
  readonly stats: AgreementStats[];
  readonly shadow?: ShadowRunner;
  private readonly compareHist = agreementHistograms('crackscope_compare', 'each comparison model', ['model']);
  private readonly shadowHist = agreementHistograms('crackscope_shadow', 'the shadow model', []);

  private constructor(
    private readonly opts: FrameComparerOptions,
    private readonly comparer: MaskComparer,
  ) {
    this.stats = opts.compare.map((m) => {
      const labels = { model: m.files.manifest.name };
      return new AgreementStats((iou, f1) => {
        this.compareHist.iou.observe(labels, iou);
        this.compareHist.f1.observe(labels, f1);
      });
    });
    if (opts.shadow) {
      this.shadow = new ShadowRunner({
        model: opts.shadow,
        live: opts.live,
        rate: opts.shadowRate,
        keep: opts.shadowKeep,
        dataDir: opts.dataDir,
        width: opts.width,
        height: opts.height,
        comparer,
        log: opts.log.child({ component: 'shadow' }),
        observe: (iou, f1) => {
          this.shadowHist.iou.observe(iou);
          this.shadowHist.f1.observe(f1);
        },
      });
    }
  }

  static async create(opts: FrameComparerOptions): Promise<FrameComparer> {
    const c = new FrameComparer(opts, await MaskComparer.create());
    await c.shadow?.ready;
    return c;
  }

  /** Comparison models as the hello message lists them. */
  get models(): CompareModelInfo[] {
    return this.opts.compare.map((m) => ({
      index: m.index,
      name: m.files.manifest.name,
      version: m.files.manifest.version,
      threshold: m.files.manifest.threshold,
      providerLabel: m.session.providerLabel,
    }));
  }

  begin(rgb: Uint8Array, height: number, width: number): PendingComparison {
    const runs = this.opts.compare.map((m) => {
      const t0 = performance.now();
      return m.session.run(rgb, height, width).then((mask) => ({ mask, ms: performance.now() - t0 }));
    });
    return {
      finish: async (liveMask, frame) => {
        const settled = await Promise.allSettled(runs);
        const out: FrameComparison[] = [];
        for (const [i, r] of settled.entries()) {
          const m = this.opts.compare[i];
          if (r.status === 'rejected') {
            const n = ++this.stats[i].errors;
            // a broken comparison model fails on every frame: say so at the 1st, 10th, 100th, … failure
            if (Number.isInteger(Math.log10(n)))
              this.opts.log.warn('compare.error', { model: m.files.manifest.name, err: (r.reason as Error).message, failures: n });
            continue;
          }
          const a = await this.comparer.agreement(liveMask, r.value.mask, this.opts.live.thresholdByte, m.thresholdByte);
          this.stats[i].record({ ...a, inferenceMs: r.value.ms });
          out.push({ index: m.index, inferenceMs: r.value.ms, iou: a.iou, f1: a.f1, mask: r.value.mask });
        }
        this.shadow?.offer({ ...frame, rgb }, liveMask);
        return out;
      },
      abandon: async () => {
        await Promise.allSettled(runs);
      },
    };
  }

  /** For /api/compare: each comparison model's agreement with the live one since start. */
  summary() {
    return this.opts.compare.map((m, i) => ({ ...this.models[i], ...this.stats[i].summary() }));
  }

  /** The agreement histograms and the counters of failed or skipped runs, into /metrics. */
  registerMetrics(registry: Registry) {
    const registers = [registry];
    if (this.opts.compare.length) {
      registry.registerMetric(this.compareHist.iou);
      registry.registerMetric(this.compareHist.f1);
      const models = this.opts.compare;
      const stats = this.stats;
      new Counter({
        name: 'crackscope_compare_errors_total',
        help: 'Failed comparison model runs.',
        labelNames: ['model'],
        registers,
        collect() {
          this.reset();
          models.forEach((m, i) => this.inc({ model: m.files.manifest.name }, stats[i].errors));
        },
      });
    }
    const shadow = this.shadow;
    if (shadow && this.opts.shadow) {
      const m = this.opts.shadow.files.manifest;
      new Gauge({
        name: 'crackscope_shadow_info',
        help: 'The shadow model (never shown to viewers).',
        labelNames: ['model', 'version', 'rate'],
        registers,
      }).set({ model: m.name, version: m.version, rate: String(this.opts.shadowRate) }, 1);
      registry.registerMetric(this.shadowHist.iou);
      registry.registerMetric(this.shadowHist.f1);
      const read = (name: string, help: string, value: () => number) =>
        new Counter({
          name,
          help,
          registers,
          collect() {
            this.reset();
            this.inc(value());
          },
        });
      read('crackscope_shadow_frames_skipped_total', 'Sampled frames skipped because the shadow model was still busy.', () => shadow.counters.skippedBusy);
      read('crackscope_shadow_errors_total', 'Failed shadow model runs.', () => shadow.stats.errors);
    }
  }

  async stop() {
    await this.shadow?.stop();
    await this.comparer.release().catch(() => undefined);
  }
}
