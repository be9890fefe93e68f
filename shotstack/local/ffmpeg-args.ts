import { gatedInput } from '../../common/media-gate.js';
import { ASSET_DEMUXERS } from './asset-formats.js';
import type { Box, PlannedClip, PlannedVideoClip, RenderPlan } from './plan.js';
import { shapeSourceChain } from './shape.js';

/**
 * Builds the single ffmpeg command that renders a plan: one input per clip (seeked with -ss/-t, so only the
 * needed part is decoded), each clip scaled/cropped to its box, luma mattes merged as alpha, everything
 * overlaid bottom-up on a background colour, audio mixed with each clip's volume and start delay. Shape assets
 * are drawn inside the graph (no input file; see shape.ts) and overlaid the same way.
 *
 * Every asset is opened through the media gate (allowed demuxers only, plain files only), as it was probed: the
 * probe and this run must agree on what the file is, or a file could pass the probe as one format and be
 * decoded as another.
 *
 * Speed choices for a 2-core box: clips are scaled to their on-screen size BEFORE masking and overlaying (a
 * 0.35 bubble is ~8× fewer pixels to process), x264 `veryfast`, `-threads 2`.
 *
 * It draws what the plan says and decides nothing: which decoder, whether a clip keeps its alpha, whether a
 * matte is negated and where it lies all come from the plan (and so from the renderer readings it was made with).
 */
export interface ArgsOptions {
  threads?: number;
  crf?: number;
}

function seconds(n: number): string {
  return (Math.round(n * 1000) / 1000).toFixed(3);
}

function sizeChain(box: Box): string {
  const parts = [`scale=${box.scaledWidth}:${box.scaledHeight}`];
  if (box.width !== box.scaledWidth || box.height !== box.scaledHeight) parts.push(`crop=${box.width}:${box.height}`);
  return parts.join(',');
}

// Timestamps restart at 0 and the frame rate is forced, so every layer lines up frame by frame.
function normalise(length: number, fps: string): string {
  return `setpts=PTS-STARTPTS,fps=${fps},trim=duration=${seconds(length)},setpts=PTS-STARTPTS`;
}

type Matte = NonNullable<PlannedVideoClip['mask']>;

/** A mask that starts before its clip is trimmed to the clip; one that ends after it is cut. */
function matteWindow(clip: PlannedVideoClip, m: Matte): { lead: number; relStart: number; length: number } {
  const lead = Math.max(0, clip.start - m.start);
  const relStart = Math.max(0, m.start - clip.start);
  return { lead, relStart, length: Math.min(m.length - lead, clip.length - relStart) };
}

/** The filters that turn clip layer `layer` into `m<k>`: the clip with the matte's luma as its alpha. */
function matteLines(
  clip: PlannedVideoClip,
  m: Matte,
  at: { k: number; layer: string; maskInput: number; fps: string },
  w: { relStart: number; length: number },
): string[] {
  const { k, layer, maskInput, fps } = at;
  const invert = m.negate ? ',negate' : '';
  const matte = `[${maskInput}:v]${normalise(w.length, fps)},${sizeChain(m.box)},format=gray${invert}[l${k}]`;
  if (m.alignedWithClip) return [matte, `[${layer}][l${k}]alphamerge[m${k}]`];
  // General case: place the matte on a clip-sized canvas that is white (= fully visible) wherever and
  // whenever the matte does not cover the clip.
  return [
    matte,
    `color=c=white:s=${clip.box.width}x${clip.box.height}:r=${fps}:d=${seconds(clip.length)},format=yuv420p[mc${k}]`,
    `[l${k}]setpts=PTS+${seconds(w.relStart)}/TB[ld${k}]`,
    `[mc${k}][ld${k}]overlay=x=${m.box.x - clip.box.x}:y=${m.box.y - clip.box.y}:eof_action=pass,format=gray[mm${k}]`,
    `[${layer}][mm${k}]alphamerge[m${k}]`,
  ];
}

export function buildRenderArgs(plan: RenderPlan, fileOf: (src: string) => string, outPath: string, opts: ArgsOptions = {}): string[] {
  const inputs: string[] = [];
  const graph: string[] = [];
  const audio: string[] = [];
  const fps = plan.fps.rational;
  let inputCount = 0;

  const addInput = (src: string, trim: number, length: number, decoder: PlannedVideoClip['decoder'] = null): number => {
    if (decoder) inputs.push('-c:v', decoder);
    inputs.push('-ss', seconds(trim), '-t', seconds(length), ...gatedInput(fileOf(src), { demuxers: ASSET_DEMUXERS }));
    return inputCount++;
  };
  graph.push(`color=c=${plan.background}:s=${plan.width}x${plan.height}:r=${fps}:d=${seconds(plan.durationSec)},format=yuv420p[base]`);
  let below = 'base';

  plan.clips.forEach((clip: PlannedClip, k) => {
    if (clip.kind === 'shape') {
      const frames = Math.max(1, Math.ceil(clip.length * plan.fps.value - 1e-6));
      graph.push(`${shapeSourceChain(clip.drawing, fps, frames)},trim=duration=${seconds(clip.length)},setpts=PTS+${seconds(clip.start)}/TB[d${k}]`);
      graph.push(`[${below}][d${k}]overlay=x=${clip.box.x}:y=${clip.box.y}:eof_action=pass:repeatlast=0[o${k}]`);
      below = `o${k}`;
      return;
    }
    const input = addInput(clip.src, clip.trim, clip.length, clip.decoder);
    const withAlpha = clip.hasAlpha || clip.mask !== undefined;
    graph.push(`[${input}:v]${normalise(clip.length, fps)},${sizeChain(clip.box)},setsar=1,format=${withAlpha ? 'yuva420p' : 'yuv420p'}[c${k}]`);
    let layer = `c${k}`;

    if (clip.mask) {
      const m = clip.mask;
      const w = matteWindow(clip, m);
      // A matte is read for its luma only: its own alpha, if any, is never used, so no alpha decoder.
      const maskInput = addInput(m.src, m.trim + w.lead, w.length);
      graph.push(...matteLines(clip, m, { k, layer, maskInput, fps }, w));
      layer = `m${k}`;
    }

    graph.push(`[${layer}]setpts=PTS+${seconds(clip.start)}/TB[d${k}]`);
    graph.push(`[${below}][d${k}]overlay=x=${clip.box.x}:y=${clip.box.y}:eof_action=pass:repeatlast=0[o${k}]`);
    below = `o${k}`;

    if (!plan.mute && clip.volume > 0 && clip.hasAudio) {
      const delayMs = Math.round(clip.start * 1000);
      graph.push(
        `[${input}:a]asetpts=PTS-STARTPTS,atrim=duration=${seconds(clip.length)},aformat=sample_rates=48000:channel_layouts=stereo,` +
          `volume=${clip.volume},adelay=delays=${delayMs}:all=1[a${k}]`,
      );
      audio.push(`[a${k}]`);
    }
  });

  graph.push(`[${below}]null[vout]`);
  const maps = ['-map', '[vout]'];
  if (!plan.mute) {
    graph.push(`anullsrc=r=48000:cl=stereo,atrim=duration=${seconds(plan.durationSec)}[silence]`);
    graph.push(
      audio.length
        ? `[silence]${audio.join('')}amix=inputs=${audio.length + 1}:duration=first:normalize=0[aout]`
        : '[silence]anull[aout]',
    );
    maps.push('-map', '[aout]');
  }

  const threads = String(opts.threads ?? 2);
  return [
    ...inputs,
    '-filter_complex', graph.join(';'),
    ...maps,
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(opts.crf ?? 20), '-pix_fmt', 'yuv420p',
    '-r', fps, '-threads', threads,
    ...(plan.mute ? [] : ['-c:a', 'aac', '-b:a', '128k']),
    '-t', seconds(plan.durationSec),
    '-movflags', '+faststart',
    outPath,
  ];
}
