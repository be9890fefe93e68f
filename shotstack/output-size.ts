import type { OutputAspectRatio, OutputResolution } from './types.js';

/**
 * Pixel size of an output, shared by the timeline builder (which emits an explicit `output.size`) and the local
 * renderer (which also accepts `resolution` + `aspectRatio`).
 *
 * Shotstack documents the 16:9 sizes of each resolution (hd = 1280×720 …) but not the exact size of the other
 * aspect ratios. We keep the short side of the 16:9 size and derive the long side from the ratio: hd 9:16 =
 * 720×1280, 1:1 = 720×720, 4:5 = 720×900, 1080 4:5 = 1080×1350 (Instagram's portrait size). The builder sends
 * these as `size`, so the real service renders exactly the size we computed the bubble geometry for.
 */
const LANDSCAPE_16_9: Record<OutputResolution, readonly [number, number]> = {
  preview: [512, 288],
  mobile: [640, 360],
  sd: [1024, 576],
  hd: [1280, 720],
  '1080': [1920, 1080],
  '4k': [3840, 2160],
};

export interface PixelSize {
  width: number;
  height: number;
}

function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}

export function outputPixelSize(resolution: OutputResolution, aspectRatio: OutputAspectRatio = '16:9'): PixelSize {
  const [w, short] = LANDSCAPE_16_9[resolution];
  switch (aspectRatio) {
    case '16:9':
      return { width: w, height: short };
    case '9:16':
      return { width: short, height: w };
    case '1:1':
      return { width: short, height: short };
    case '4:5':
      return { width: short, height: even((short * 5) / 4) };
    case '4:3':
      return { width: even((short * 4) / 3), height: short };
  }
}
