// The crack report's shape (server/analysis/crack-measure.ts makes it; /api/analysis, capture
// reports and `crackscope infer` write it as JSON; the kiosk reads it). Pure types.

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}
export interface Point {
  x: number;
  y: number;
}

export interface Crack {
  /** 1-based; cracks are numbered by length, longest first; the same id is used in `labels` */
  id: number;
  area_px: number;
  /** centre-line length, tip to tip, branches added, bridged gaps included, in pixels */
  length_px: number;
  /** the part of length_px that bridges faint gaps (inferred, not seen) */
  inferred_length_px: number;
  /** branches of its centre line (1 for a simple crack) */
  branches: number;
  /** gaps bridged inside this crack */
  bridges: number;
  /** widest point: 2·d − 1 at the skeleton pixel with the largest distance d to the background */
  max_width_px: number;
  /** area / length */
  mean_width_px: number;
  bbox: Box;
  centroid: Point;
  /** number of skeleton end points (a straight crack has 2, each extra branch adds about one) */
  endpoints: number;
  area_mm2?: number;
  length_mm?: number;
  inferred_length_mm?: number;
  max_width_mm?: number;
  mean_width_mm?: number;
  bbox_mm?: Box;
  centroid_mm?: Point;
}

export interface CrackReport {
  width: number;
  height: number;
  /** probability threshold used (0..1): a pixel is crack when mask ≥ threshold × 255 */
  threshold: number;
  /** components smaller than this many pixels are ignored as specks */
  min_area_px: number;
  /** millimetres per pixel, or null when the image is not calibrated */
  mm_per_px: number | null;
  /** pixels of the cracks that were kept (specks excluded) */
  crack_pixels: number;
  crack_count: number;
  total_length_px: number;
  /** the bridged (inferred) part of total_length_px */
  inferred_length_px: number;
  max_width_px: number;
  /** crack_pixels / (total_length_px − inferred_length_px): the length-weighted mean width of all cracks */
  mean_width_px: number;
  /** pixels at or above the threshold that were dropped as specks, and how many specks */
  speck_pixels: number;
  speck_count: number;
  total_length_mm?: number;
  inferred_length_mm?: number;
  max_width_mm?: number;
  mean_width_mm?: number;
  crack_area_mm2?: number;
  /** the crack-identity settings this report was made with (px; mm too when calibrated) */
  identity: IdentityReport;
  cracks: Crack[];
  /** every bridged gap: which crack, the two ends it joins, its length */
  bridges: (CrackBridge & { length_mm?: number })[];
  /** crack id per pixel (0 = none), width×height row-major: for tap hit-testing. Not in JSON. */
  labels: Int32Array;
}

export interface IdentityReport {
  /** hysteresis: the probability (0..1) down to which a crack continues from a seed ≥ threshold */
  continue_threshold: number;
  min_area_px: number;
  min_length_px: number;
  max_gap_px: number;
  max_gap_angle_deg: number;
  bridge_min_prob: number;
  /** a bridge turning more than max_gap_angle_deg is still taken within this many crack widths of an end's line */
  gap_lateral_widths: number;
  min_length_mm?: number;
  max_gap_mm?: number;
}

/** A bridged gap: inferred, not seen; its length is part of its crack's length. */
export interface CrackBridge {
  crack: number;
  /** the two centre-line ends it joins, image pixels */
  line: [[number, number], [number, number]];
  length_px: number;
  /** mean crack probability (0..1) along it, null when not sampled */
  mean_prob: number | null;
}
