// Pan/zoom arithmetic, free of DOM and WebGL so it can be unit-tested.
// Screen coordinates are CSS pixels with the origin at the top-left of the viewport. The image is
// drawn centred, scaled by fit × zoom (fit = the whole image visible), then offset by pan.

export interface ViewState {
  /** 1 = whole image fits the screen */
  zoom: number;
  /** offset of the image centre from the viewport centre, CSS px */
  panX: number;
  panY: number;
}

export interface Geometry {
  vw: number;
  vh: number;
  iw: number;
  ih: number;
}

/** Screen pixels per image pixel at the most zoomed-in level: individual pixels are plainly visible. */
export const PIXEL_LEVEL = 24;
export const MIN_ZOOM = 1;

export const fitScale = (g: Geometry) => Math.min(g.vw / g.iw, g.vh / g.ih);
export const maxZoom = (g: Geometry) => Math.max(MIN_ZOOM, PIXEL_LEVEL / fitScale(g));
/** CSS px per image px */
export const scaleOf = (v: ViewState, g: Geometry) => fitScale(g) * v.zoom;

export function clampView(v: ViewState, g: Geometry): ViewState {
  v.zoom = Math.min(maxZoom(g), Math.max(MIN_ZOOM, v.zoom));
  const s = scaleOf(v, g);
  const mx = Math.max(0, (g.iw * s - g.vw) / 2);
  const my = Math.max(0, (g.ih * s - g.vh) / 2);
  v.panX = Math.min(mx, Math.max(-mx, v.panX));
  v.panY = Math.min(my, Math.max(-my, v.panY));
  return v;
}

/** Multiplies the zoom by k keeping the image point under (sx, sy) fixed on screen. */
export function zoomAbout(v: ViewState, g: Geometry, k: number, sx: number, sy: number): ViewState {
  const z = Math.min(maxZoom(g), Math.max(MIN_ZOOM, v.zoom * k));
  const kk = z / v.zoom;
  const cx = g.vw / 2,
    cy = g.vh / 2;
  v.panX = sx - cx - (sx - cx - v.panX) * kk;
  v.panY = sy - cy - (sy - cy - v.panY) * kk;
  v.zoom = z;
  return clampView(v, g);
}

/** Screen point → image pixel coordinates (may be outside the image). */
export function screenToImage(v: ViewState, g: Geometry, sx: number, sy: number): [number, number] {
  const s = scaleOf(v, g);
  return [(sx - g.vw / 2 - v.panX) / s + g.iw / 2, (sy - g.vh / 2 - v.panY) / s + g.ih / 2];
}

export function imageToScreen(v: ViewState, g: Geometry, ix: number, iy: number): [number, number] {
  const s = scaleOf(v, g);
  return [(ix - g.iw / 2) * s + g.vw / 2 + v.panX, (iy - g.ih / 2) * s + g.vh / 2 + v.panY];
}

export function resetView(v: ViewState): ViewState {
  v.zoom = 1;
  v.panX = 0;
  v.panY = 0;
  return v;
}
