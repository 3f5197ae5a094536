// Cropping a camera frame to the model's aspect ratio before scaling, so the model sees neither a
// squeeze (crack widths and angles anisotropic, one mm/px calibration wrong in one direction) nor
// the black bands of a letterbox (hard edges are what a crack model fires on). Centred.
import fs from 'node:fs';

export interface Crop {
  /** pixels removed on each side */
  left: number;
  right: number;
  top: number;
  bottom: number;
  /** the size kept */
  width: number;
  height: number;
}

export function cropToAspect(srcW: number, srcH: number, dstW: number, dstH: number): Crop {
  const want = dstW / dstH;
  let width = srcW,
    height = srcH;
  if (srcW / srcH > want) width = Math.round((srcH * want) / 2) * 2;
  else height = Math.round(srcW / want / 2) * 2;
  const left = Math.floor((srcW - width) / 2 / 2) * 2;
  const top = Math.floor((srcH - height) / 2 / 2) * 2;
  return { left, right: srcW - width - left, top, bottom: srcH - height - top, width, height };
}

/** A Jetson (L4T): NVIDIA's GStreamer plugins are there, and decodebin prefers their NVMM decoders. */
export function onJetson(): boolean {
  if (process.env.CRACKSCOPE_JETSON) return process.env.CRACKSCOPE_JETSON === '1';
  return fs.existsSync('/etc/nv_tegra_release');
}
