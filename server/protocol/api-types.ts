// Shapes of the /api responses that the kiosk reads. Pure types, no Node: the kiosk bundles them too.

export interface CaptureSummary {
  id: string;
  createdAt: string;
  bytes: number;
  /** saved in curator mode (or before protection existed): never evicted by the quota */
  protected?: boolean;
  /** A few fields from report.json, for the gallery list. */
  source?: string;
  frameId?: number;
  crackCount?: number;
}

/** One survey in GET /api/surveys (survey.json's headline fields). */
export interface SurveySummary {
  name: string;
  width: number;
  height: number;
  cracks: number;
  lengthPx: number;
  lengthMm: number | null;
  mmPerPx: number | null;
  created: string;
  model: string;
  sha256: string;
}

/** One campaign in GET /api/campaigns (crackscope campaign status, its headline figures). */
export interface CampaignSummary {
  name: string;
  model: string;
  /** the campaign this one re-runs with another model, if any */
  base: string | null;
  counts: { total: number; waiting: number; active: number; retrying: number; done: number; failed: number };
  megapixels: { total: number; done: number };
  throughputMpPerS: number | null;
  etaS: number | null;
}

/** GET /api/campaigns: `enabled` is false (and the list empty) when the service has no campaign Redis (serve --worker-redis). */
export interface CampaignList {
  enabled: boolean;
  campaigns: CampaignSummary[];
}
