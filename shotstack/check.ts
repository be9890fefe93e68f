import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createShotstackClient } from './client.js';
import { clientOptionsFromConfig, loadShotstackConfig } from './config.js';
import { isBlue, isRed, makeAlphaBubble, makeCircleMatte, makeSolidVideo, readRgbFrame, type Rgb } from './probe-media.js';
import { bubblePlacement, buildBubbleEdit, type BubbleEditOptions, type BubbleOverlay } from './timeline.js';

/**
 * `npm run shotstack:check` — asks the REAL Shotstack (sandbox key) the questions its docs leave open:
 * 1. luma polarity: is a white matte area visible or transparent? (→ SHOTSTACK_LUMA_POLARITY)
 * 2. do alpha videos survive as inputs: WebM VP9α, MOV qtrle?
 * 3. does the bubble ring (a shape asset, see bubble-ring.ts) land just outside the bubble's edge — i.e. is the
 *    stroke centred on the outline and the shape centred in its box, as the builder assumes?
 * It uploads a blue background and a red bubble (a disc via a luma matte / via alpha), renders three small
 * probe timelines, downloads them and reads pixels: the bubble centre, a corner of the bubble's square (outside
 * the disc) and a point just outside the square.
 */
const cfg = loadShotstackConfig();
if (!cfg.SHOTSTACK_API_KEY) {
  console.error(
    'shotstack:check needs a real Shotstack key: set SHOTSTACK_API_KEY (a sandbox key, with SHOTSTACK_ENV=stage).\n' +
      'It renders four small probe videos on Shotstack to find the luma polarity, whether alpha MOV/WebM inputs ' +
      'keep their transparency and where the bubble ring lands. (To dry-run it against the local renderer: SHOTSTACK_API_URL=http://127.0.0.1:4550 ' +
      'with any key.)',
  );
  process.exit(2);
}

const client = createShotstackClient(clientOptionsFromConfig(cfg));
const OUT = { width: 512, height: 288 };
const options: BubbleEditOptions = {
  position: 'topLeft', size: 0.35, margin: 0.05, aspect: '16:9', resolution: 'sd', fps: 25,
  duration: 'bubble', backgroundAudio: false, backgroundVolume: 0, lumaPolarity: 'white-visible',
};
// sd is 1024×576; the probe renders at 512×288 (same aspect, so the fractional layout is unchanged).
const place = bubblePlacement(options);
const k = OUT.width / place.width;
const sq = { x: place.x * k, y: place.y * k, side: place.side * k };
const points = {
  centre: [Math.round(sq.x + sq.side / 2), Math.round(sq.y + sq.side / 2)],
  squareCorner: [Math.round(sq.x + 6), Math.round(sq.y + 6)],
  outside: [Math.round(sq.x + sq.side + 10), Math.round(sq.y + sq.side / 2)],
} as const;

type Samples = Record<keyof typeof points, Rgb>;

async function probe(label: string, overlay: BubbleOverlay, bgSrc: string, dir: string): Promise<Samples> {
  const edit = buildBubbleEdit({ background: { src: bgSrc, durationSec: 2, hasAudio: false }, overlay, overlayDurationSec: 2, options });
  edit.output.size = OUT;
  const id = await client.submitRender(edit);
  const done = await client.waitForRender(id, { onStatus: (s) => console.log(`  ${label}: ${s}`) });
  console.log(`  ${label}: ${done.url}`);
  const file = join(dir, `${label}.mp4`);
  await client.downloadTo(done.url, file);
  const px = await readRgbFrame(file, 1, OUT);
  return Object.fromEntries(Object.entries(points).map(([name, [x, y]]) => [name, px(x, y)])) as Samples;
}

/**
 * The ring probe renders at the preset's own size (shape sizes are output pixels, they do not shrink with the
 * output the way the fraction-placed bubble does) and samples along the bubble's left radius, from the edge out.
 */
const RING = { color: '#FFFF00', widthPx: 12 };
const isYellow = ([r, g, b]: Rgb) => r > 190 && g > 190 && b < 80;

async function probeRing(overlay: BubbleOverlay, bgSrc: string, dir: string) {
  const ringOptions: BubbleEditOptions = { ...options, ring: RING, shape: 'circle' };
  const edit = buildBubbleEdit({ background: { src: bgSrc, durationSec: 2, hasAudio: false }, overlay, overlayDurationSec: 2, options: ringOptions });
  const id = await client.submitRender(edit);
  const done = await client.waitForRender(id, { onStatus: (s) => console.log(`  ring: ${s}`) });
  console.log(`  ring: ${done.url}`);
  const file = join(dir, 'ring.mp4');
  await client.downloadTo(done.url, file);
  const px = await readRgbFrame(file, 1, place);
  const cy = place.y + place.side / 2;
  const edgeX = place.x; // the bubble's left edge; the ring should cover edgeX - widthPx … edgeX
  const along = Object.fromEntries(
    [-RING.widthPx - 6, -RING.widthPx + 2, -RING.widthPx / 2, -2, 4].map((d) => [`edge${d >= 0 ? '+' : ''}${d}px`, px(edgeX + d, cy)]),
  );
  const wanted = [false, true, true, true] as const; // outside the ring: no; inside it: yes (the last sample is the bubble)
  const seen = Object.values(along).slice(0, 4).map(isYellow);
  const verdict = seen.every((v, i) => v === wanted[i])
    ? 'ring where expected (stroke centred on the outline, shape centred in its box)'
    : 'ring MISPLACED or missing: compare the samples with the expected edge-12…edge span, and look at the render';
  return { verdict, along };
}

function lumaVerdict(s: Samples): string {
  if (isRed(s.centre) && isBlue(s.squareCorner)) return 'white-visible';
  if (isBlue(s.centre) && isRed(s.squareCorner)) return 'white-transparent';
  if (isRed(s.centre) && isRed(s.squareCorner)) return 'inconclusive: the matte was ignored (whole square visible)';
  return 'inconclusive: look at the render';
}

function alphaVerdict(s: Samples): string {
  if (isRed(s.centre) && isBlue(s.squareCorner)) return 'alpha kept';
  if (isRed(s.centre)) return 'alpha LOST (the square is opaque)';
  return 'inconclusive: the bubble is missing or discoloured, look at the render';
}

const dir = await mkdtemp(join(tmpdir(), 'shotstack-check-'));
try {
  console.log(`Probing ${client.apiUrl} (${cfg.SHOTSTACK_ENV}); making inputs in ${dir}`);
  const files = {
    bg: await makeSolidVideo(join(dir, 'bg.mp4'), { color: 'blue', width: OUT.width, height: OUT.height, durationSec: 2 }),
    color: await makeSolidVideo(join(dir, 'color.mp4'), { color: 'red', width: 128, height: 128, durationSec: 2 }),
    matte: await makeCircleMatte(join(dir, 'matte.mp4'), { size: 128, durationSec: 2 }),
    webm: await makeAlphaBubble(join(dir, 'bubble.webm'), { color: 'red', size: 128, durationSec: 2, format: 'webm' }),
    mov: await makeAlphaBubble(join(dir, 'bubble.mov'), { color: 'red', size: 128, durationSec: 2, format: 'mov' }),
    // The ring probe: a full-size background, and a disc reaching the square's edges like the engine's bubble.
    bgFull: await makeSolidVideo(join(dir, 'bg-full.mp4'), { color: 'blue', width: place.width, height: place.height, durationSec: 2 }),
    ringMatte: await makeCircleMatte(join(dir, 'ring-matte.mp4'), { size: 128, durationSec: 2, radiusFraction: 0.5 }),
  };
  console.log('Uploading through the Ingest API…');
  const src: Record<keyof typeof files, string> = { bg: '', color: '', matte: '', webm: '', mov: '', bgFull: '', ringMatte: '' };
  for (const [name, path] of Object.entries(files) as [keyof typeof files, string][]) src[name] = await client.ingestFile(path);

  console.log('Rendering probes…');
  const luma = await probe('luma', { kind: 'luma', colorSrc: src.color, matteSrc: src.matte }, src.bg, dir);
  const webm = await probe('webm', { kind: 'alpha', src: src.webm }, src.bg, dir);
  const mov = await probe('mov', { kind: 'alpha', src: src.mov }, src.bg, dir);
  const ring = await probeRing({ kind: 'luma', colorSrc: src.color, matteSrc: src.ringMatte }, src.bgFull, dir);

  const report = {
    lumaPolarity: lumaVerdict(luma),
    webmVp9Alpha: alphaVerdict(webm),
    movQtrleAlpha: alphaVerdict(mov),
    bubbleWhereExpected: [luma, webm, mov].map((s) => isBlue(s.outside)),
    ring: ring.verdict,
    samples: { points, luma, webm, mov, ringAlongLeftRadius: ring.along },
  };
  console.log(JSON.stringify(report, (_k, v) => (Array.isArray(v) && typeof v[0] === 'number' ? v.join(',') : v), 2));
  if (report.lumaPolarity.startsWith('white-')) console.log(`→ set SHOTSTACK_LUMA_POLARITY=${report.lumaPolarity}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
