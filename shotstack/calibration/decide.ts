import type { RgbFrame } from '../probe-media.js';
import type { AlphaFate, LumaGeometry, RendererReadings, ScaleBase } from '../readings.js';
import type { LumaPolarity } from '../types.js';
import { describe, measureRedSquare, near, sample, spotPx, type MeasuredSquare, type Sample } from './pixels.js';
import {
  ALPHA_LAYOUT,
  EDGE_SAMPLE,
  expectedSide,
  LUMA_LAYOUT,
  PROBE_SIZES,
  type FrameSize,
  type ProbeName,
  type Spot,
} from './probes.js';

/**
 * Pixels → readings. Pure: takes the three decoded probe frames (probes.ts) and decides each reading only from a
 * pattern the probes were designed to produce; anything else — a colour that is neither the red squares nor the
 * blue background, a square of no predicted size, two probes disagreeing — leaves the reading undecided with a
 * reason that says what was seen where. It never guesses.
 */
export type ProbeFrames = Record<ProbeName, RgbFrame>;

export interface ReferenceEvidence extends MeasuredSquare {
  /** Where position `center` + offset should have put the square's centre. */
  expectedCentre: [number, number];
}

export interface LumaEvidence {
  reference?: ReferenceEvidence;
  samples?: Record<'centredCentre' | 'centredEdge' | 'outerCentre' | 'outerEdge', Sample>;
  verdict?: { luma: LumaPolarity; lumaGeometry: LumaGeometry };
}

export interface Decision {
  /** Every reading, when all were decided. */
  readings?: RendererReadings;
  decided: Partial<RendererReadings>;
  /** Why each undecided reading (or unusable probe) was left open; empty when `readings` is set. */
  problems: string[];
  evidence: {
    wide: LumaEvidence;
    tall: LumaEvidence;
    square: { reference?: ReferenceEvidence; samples?: Record<string, Sample> };
    /** Predicted side (px) per scale base, for each probe. */
    predictedSides: Record<ProbeName, Record<ScaleBase, number>>;
  };
}

const SCALE_BASES: readonly ScaleBase[] = ['fit', 'width', 'height'];

export function decideReadings(frames: ProbeFrames): Decision {
  const problems: string[] = [];
  const decided: Partial<RendererReadings> = {};
  const wide = lumaProbe('wide', frames.wide, problems);
  const tall = lumaProbe('tall', frames.tall, problems);
  const square = alphaProbe(frames.square, problems);

  const scale = decideScale(wide.reference, tall.reference, square.reference, problems);
  if (scale) decided.scale = scale;
  const luma = agreeOnLuma(wide.verdict, tall.verdict, problems);
  if (luma) Object.assign(decided, luma);
  Object.assign(decided, square.fates);

  const complete = ['luma', 'lumaGeometry', 'scale', 'alphaWebm', 'alphaMov'].every((k) => decided[k as keyof RendererReadings]);
  const predictedSides = Object.fromEntries(
    Object.entries(PROBE_SIZES).map(([name, size]) => [name, Object.fromEntries(SCALE_BASES.map((b) => [b, expectedSide(b, size)]))]),
  ) as Decision['evidence']['predictedSides'];
  return {
    ...(complete && !problems.length ? { readings: decided as RendererReadings } : {}),
    decided,
    problems,
    evidence: { wide, tall, square: { reference: square.reference, samples: square.samples }, predictedSides },
  };
}

/** Checks the background, then measures the unmasked reference square; undefined (and a problem) when unusable. */
function reference(name: ProbeName, frame: RgbFrame, spot: Spot, background: Spot, problems: string[]): ReferenceEvidence | undefined {
  const size: FrameSize = PROBE_SIZES[name];
  if (frame.width !== size.width || frame.height !== size.height) {
    problems.push(`${name} probe: the frame is ${frame.width}×${frame.height}, not the ${size.width}×${size.height} the Edit asked for`);
    return undefined;
  }
  const bg = sample(frame, ...spotPx(frame, background));
  if (bg.seen !== 'blue') {
    problems.push(`${name} probe: the background at ${describe(bg)} is not the timeline's blue — the render does not show the probe timeline`);
    return undefined;
  }
  const expectedCentre = spotPx(frame, spot);
  const measured = measureRedSquare(frame, ...expectedCentre);
  if (!measured) {
    const at = sample(frame, ...expectedCentre);
    problems.push(`${name} probe: no red reference square at ${describe(at)}, where position "center" + offset puts its centre`);
    return undefined;
  }
  const evidence = { ...measured, expectedCentre: expectedCentre.map((v) => Math.round(v * 10) / 10) as [number, number] };
  const side = (measured.width + measured.height) / 2;
  const off = Math.hypot(measured.centre[0] - expectedCentre[0], measured.centre[1] - expectedCentre[1]);
  if (off > Math.max(3, 0.1 * side)) {
    problems.push(
      `${name} probe: the reference square is centred at (${measured.centre.join(', ')}), not at (${evidence.expectedCentre.join(', ')}) — position/offset are not read as documented`,
    );
    return undefined;
  }
  if (!near(measured.width, measured.height)) {
    problems.push(`${name} probe: the reference square measures ${measured.width}×${measured.height} px — the square asset lost its aspect`);
    return undefined;
  }
  return evidence;
}

const sideOf = (r: ReferenceEvidence) => (r.width + r.height) / 2;

/**
 * What `scale` multiplies, from the reference's side at 16:9 and 9:16 (fit = height at 16:9, fit = width at
 * 9:16, so only both together separate the three), confirmed at 1:1 where every base predicts the same side.
 */
function decideScale(
  wide: ReferenceEvidence | undefined,
  tall: ReferenceEvidence | undefined,
  square: ReferenceEvidence | undefined,
  problems: string[],
): ScaleBase | undefined {
  if (!wide || !tall || !square) {
    problems.push('scale: undecided, a reference square could not be measured (see above)');
    return undefined;
  }
  const oneToOne = expectedSide('fit', PROBE_SIZES.square);
  if (!near(sideOf(square), oneToOne)) {
    problems.push(`scale: at 1:1 the reference is ${sideOf(square)} px, but every scale reading gives ${oneToOne} px — scale is read some other way`);
    return undefined;
  }
  const fits = SCALE_BASES.filter((b) => near(sideOf(wide), expectedSide(b, PROBE_SIZES.wide)) && near(sideOf(tall), expectedSide(b, PROBE_SIZES.tall)));
  if (fits.length === 1) return fits[0];
  const predicted = SCALE_BASES.map((b) => `${b} ${expectedSide(b, PROBE_SIZES.wide)}/${expectedSide(b, PROBE_SIZES.tall)}`).join(', ');
  problems.push(
    `scale: the reference measures ${sideOf(wide)} px at 16:9 and ${sideOf(tall)} px at 9:16, which ${fits.length ? `fits ${fits.join(' and ')} alike` : 'fits no reading'} (predicted 16:9/9:16: ${predicted})`,
  );
  return undefined;
}

type Pattern = `${'red' | 'blue'},${'red' | 'blue'},${'red' | 'blue'},${'red' | 'blue'}`;

/**
 * centred square (centre, edge), outer square (centre, edge) → what the service does with a luma clip. Red =
 * the clip shows there. A matte following its clip shows its disc (or the hole) in both squares; one stretched
 * over the viewport covers all of the centred square and none of the outer one (see probes.ts).
 */
const LUMA_PATTERNS: Record<Pattern, { luma: LumaPolarity; lumaGeometry: LumaGeometry } | string> = {
  'red,blue,red,blue': { luma: 'white-visible', lumaGeometry: 'clip' },
  'blue,red,blue,red': { luma: 'white-transparent', lumaGeometry: 'clip' },
  'red,red,blue,blue': { luma: 'white-visible', lumaGeometry: 'viewport' },
  'blue,blue,red,red': { luma: 'white-transparent', lumaGeometry: 'viewport' },
  'red,red,red,red': 'both masked squares show whole: the luma matte was ignored',
  'blue,blue,blue,blue': 'neither masked square shows: the masked clips were not drawn at all',
} as Record<Pattern, { luma: LumaPolarity; lumaGeometry: LumaGeometry } | string>;

function lumaProbe(name: 'wide' | 'tall', frame: RgbFrame, problems: string[]): LumaEvidence {
  const layout = LUMA_LAYOUT[name];
  const ref = reference(name, frame, layout.squares.reference, layout.background, problems);
  if (!ref) return {};
  const side = sideOf(ref);
  const at = (spot: Spot, step?: Spot) => {
    const [x, y] = spotPx(frame, spot);
    return sample(frame, x + (step?.x ?? 0) * EDGE_SAMPLE * side, y + (step?.y ?? 0) * EDGE_SAMPLE * side);
  };
  const samples = {
    centredCentre: at(layout.squares.centred),
    centredEdge: at(layout.squares.centred, layout.edgeStep.centred),
    outerCentre: at(layout.squares.outer),
    outerEdge: at(layout.squares.outer, layout.edgeStep.outer),
  };
  const unclear = Object.entries(samples).filter(([, s]) => s.seen === 'other');
  if (unclear.length) {
    problems.push(`luma (${name} probe): neither red nor blue at ${unclear.map(([k, s]) => `${k} ${describe(s)}`).join('; ')}`);
    return { reference: ref, samples };
  }
  const pattern = Object.values(samples).map((s) => s.seen).join(',') as Pattern;
  const outcome = LUMA_PATTERNS[pattern];
  if (typeof outcome === 'object') return { reference: ref, samples, verdict: outcome };
  problems.push(`luma (${name} probe): ${outcome ?? `an unforeseen pattern ${pattern} (centred centre/edge, outer centre/edge)`}`);
  return { reference: ref, samples };
}

function agreeOnLuma(wide: LumaEvidence['verdict'], tall: LumaEvidence['verdict'], problems: string[]): LumaEvidence['verdict'] {
  if (!wide || !tall) {
    if (!problems.some((p) => p.startsWith('luma'))) problems.push('luma: undecided, a luma probe could not be read (see above)');
    return undefined;
  }
  if (wide.luma !== tall.luma || wide.lumaGeometry !== tall.lumaGeometry) {
    problems.push(`luma: the probes disagree — 16:9 reads ${wide.luma}/${wide.lumaGeometry}, 9:16 reads ${tall.luma}/${tall.lumaGeometry}`);
    return undefined;
  }
  return wide;
}

/** The 1:1 probe: the reference (scale consistency) and whether each alpha square kept its transparent corners. */
function alphaProbe(frame: RgbFrame, problems: string[]) {
  const { squares, cornerStep, background } = ALPHA_LAYOUT;
  const ref = reference('square', frame, squares.reference, background, problems);
  const fates: Partial<Pick<RendererReadings, 'alphaWebm' | 'alphaMov'>> = {};
  if (!ref) {
    problems.push('alpha-webm, alpha-mov: undecided, the 1:1 probe could not be read (see above)');
    return { reference: ref, fates };
  }
  const side = sideOf(ref);
  const samples: Record<string, Sample> = {};
  for (const format of ['webm', 'mov'] as const) {
    const [x, y] = spotPx(frame, squares[format]);
    const centre = (samples[`${format}Centre`] = sample(frame, x, y));
    const corner = (samples[`${format}Corner`] = sample(frame, x + cornerStep.x * EDGE_SAMPLE * side, y + cornerStep.y * EDGE_SAMPLE * side));
    const outcome = alphaFate(centre, corner);
    if ('fate' in outcome) fates[format === 'webm' ? 'alphaWebm' : 'alphaMov'] = outcome.fate;
    else problems.push(`alpha-${format}: ${outcome.problem}`);
  }
  return { reference: ref, samples, fates };
}

/** Kept: red disc, blue corner. Lost: the square's stored red shows in the corner too. */
function alphaFate(centre: Sample, corner: Sample): { fate: AlphaFate } | { problem: string } {
  if (centre.seen !== 'red') return { problem: `the video is not drawn: its centre ${describe(centre)} is not red` };
  if (corner.seen === 'blue') return { fate: 'kept' };
  if (corner.seen === 'red') return { fate: 'lost' };
  return { problem: `inconclusive: the square's corner ${describe(corner)} is neither the background's blue nor the video's red` };
}
