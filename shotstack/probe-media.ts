import { runFfmpeg, spawnFfmpeg } from '../common/ffmpeg.js';

/**
 * Tiny synthetic media for probing a renderer: solid-colour clips, a circular luma matte, alpha bubbles in the
 * engine's two alpha formats, and a reader for one decoded frame. Used by the calibration (shotstack/calibration,
 * `npm run shotstack:check`) against the real service and by the tests against the local renderer, so both probe
 * with identical inputs.
 */
const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-threads', '2'];

export async function makeSolidVideo(
  path: string,
  o: { color: string; width: number; height: number; durationSec: number; fps?: number; audio?: boolean },
): Promise<string> {
  const fps = o.fps ?? 25;
  const args = ['-f', 'lavfi', '-i', `color=c=${o.color}:s=${o.width}x${o.height}:d=${o.durationSec}:r=${fps}`];
  if (o.audio) args.push('-f', 'lavfi', '-i', `sine=f=440:d=${o.durationSec}`);
  args.push(...X264, ...(o.audio ? ['-c:a', 'aac', '-shortest'] : ['-an']), '-movflags', '+faststart', path);
  await runFfmpeg(args);
  return path;
}

function discExpression(size: number, radiusFraction = 0.46): string {
  const c = (size - 1) / 2;
  return `lt(hypot(X-${c}\\,Y-${c})\\,${size * radiusFraction})`;
}

/**
 * A disc on a square: white inside, black outside (white = visible) unless `inverted`. Its radius is 0.46 of the
 * side unless `radiusFraction` says otherwise (0.5 = touching the edges, like the engine's bubble).
 */
export async function makeCircleMatte(
  path: string,
  o: { size: number; durationSec: number; fps?: number; inverted?: boolean; radiusFraction?: number },
): Promise<string> {
  const inside = discExpression(o.size, o.radiusFraction);
  const lum = o.inverted ? `255*(1-${inside})` : `255*${inside}`;
  await runFfmpeg([
    '-f', 'lavfi', '-i', `color=c=black:s=${o.size}x${o.size}:d=${o.durationSec}:r=${o.fps ?? 25},format=gray,geq=lum='${lum}'`,
    ...X264, '-an', '-movflags', '+faststart', path,
  ]);
  return path;
}

/**
 * A square of one colour whose alpha is a disc (radius 0.46 of the side unless `radiusFraction` says otherwise):
 * WebM VP9 yuva420p or MOV qtrle argb. The colour fills the whole square, so a renderer that drops the alpha
 * shows a full square of it.
 */
export async function makeAlphaBubble(
  path: string,
  o: { color: string; size: number; durationSec: number; format: 'webm' | 'mov'; radiusFraction?: number },
): Promise<string> {
  const src =
    `color=c=${o.color}:s=${o.size}x${o.size}:d=${o.durationSec}:r=25,format=rgba,` +
    `geq=r='r(X\\,Y)':g='g(X\\,Y)':b='b(X\\,Y)':a='255*${discExpression(o.size, o.radiusFraction)}'`;
  const codec =
    o.format === 'webm'
      ? ['-c:v', 'libvpx-vp9', '-pix_fmt', 'yuva420p', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '0', '-crf', '30', '-threads', '2']
      : ['-c:v', 'qtrle', '-pix_fmt', 'argb'];
  await runFfmpeg(['-f', 'lavfi', '-i', src, ...codec, '-an', path]);
  return path;
}

export type Rgb = [number, number, number];

/** One decoded frame, rgb24, rows top to bottom. */
export interface RgbFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Decodes the frame shown at `atSec` as rgb24; fails when the video is not `size` (a probe read at the wrong size). */
export async function decodeRgbFrame(file: string, atSec: number, size: { width: number; height: number }): Promise<RgbFrame> {
  const { child, done } = spawnFfmpeg(
    ['-v', 'error', '-ss', String(atSec), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { timeoutMs: 60_000 },
  );
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  await done;
  const data = Buffer.concat(chunks);
  if (data.length !== size.width * size.height * 3) {
    throw new Error(`expected one ${size.width}×${size.height} frame from ${file}, got ${data.length} bytes`);
  }
  return { width: size.width, height: size.height, data };
}

/** The pixel at (x, y), rounded to the nearest pixel. */
export function pixelAt(frame: RgbFrame, x: number, y: number): Rgb {
  const i = (Math.round(y) * frame.width + Math.round(x)) * 3;
  return [frame.data[i]!, frame.data[i + 1]!, frame.data[i + 2]!];
}

export function isRed([r, g, b]: Rgb): boolean {
  return r > 190 && g < 70 && b < 70;
}
export function isBlue([r, g, b]: Rgb): boolean {
  return b > 190 && r < 70 && g < 70;
}
export function isGreen([r, g, b]: Rgb): boolean {
  return g > 100 && r < 70 && b < 70;
}
