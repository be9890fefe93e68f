/**
 * BT.601 limited-range Y'CbCr from 8-bit RGB — what ffmpeg's swscale uses by default for yuv420p — in one place: the
 * compositor's ring colour and the preview still's guidance both convert with these rows.
 */
function luma601(r: number, g: number, b: number): number {
  return 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255;
}
function cb601(r: number, g: number, b: number): number {
  return 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255;
}
function cr601(r: number, g: number, b: number): number {
  return 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255;
}

/** One 8-bit RGB colour → BT.601 limited-range Y'CbCr bytes. */
export function rgbToYuv601(r: number, g: number, b: number): [number, number, number] {
  const c = (x: number) => Math.min(255, Math.max(0, Math.round(x)));
  return [c(luma601(r, g, b)), c(cb601(r, g, b)), c(cr601(r, g, b))];
}

/**
 * Packed RGB24 → planar yuv420p (chroma the mean of each 2×2 block), for the one place that has an RGB frame but
 * needs the video path's layout: the preview still, whose edge refinement reads yuv420p guidance. Width and height
 * must be even (the engine's work sizes are).
 */
export function rgbToYuv420p(rgb: Uint8Array, width: number, height: number): Uint8Array {
  if ((width | height) & 1) throw new RangeError(`yuv420p needs even dimensions, got ${width}×${height}`);
  const out = new Uint8Array((width * height * 3) / 2);
  const cw = width >> 1;
  const uBase = width * height;
  const vBase = uBase + cw * (height >> 1);
  for (let y = 0; y < height; y += 2) {
    for (let x = 0; x < width; x += 2) {
      let su = 0;
      let sv = 0;
      for (let dy = 0; dy < 2; dy++) {
        for (let dx = 0; dx < 2; dx++) {
          const o = (y + dy) * width + x + dx;
          const r = rgb[o * 3];
          const g = rgb[o * 3 + 1];
          const b = rgb[o * 3 + 2];
          out[o] = luma601(r, g, b) + 0.5;
          su += cb601(r, g, b);
          sv += cr601(r, g, b);
        }
      }
      const c = (y >> 1) * cw + (x >> 1);
      out[uBase + c] = su / 4 + 0.5;
      out[vBase + c] = sv / 4 + 0.5;
    }
  }
  return out;
}
