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
