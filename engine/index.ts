/**
 * The frame engine's public API. Everything outside engine/ imports from this file only; the modules behind it
 * (frame/, io/, render/, models/registry.ts, session.ts) are the engine's own business.
 */
export * from './types.js';
export { parseOverlayOptions, overlayOptionsSchema, type OverlayOptionsInput } from './options.js';
export { renderOverlay } from './render/overlay.js';
export type { RenderInput } from './render/plan.js';
export { renderStill, type StillFrame, type StillOptions, type StillResult } from './still.js';
export { warmup, engineStatus, type EngineStatus } from './status.js';
/** The engine's operator settings (ORT_*, MODELS_DIR), for deploy checks that list what each service reads. */
export { engineConfig } from './config.js';
/** The work size frames are decoded at (what `renderStill` expects). */
export { workSize } from './io/decode.js';
/** For the benchmark's bare-ffmpeg baseline: the exact encoder arguments the engine uses. */
export { buildEncoderArgs } from './io/encode.js';
/** The model registry, for `npm run models` (models-build/) and admin views. */
export { MODELS, modelsDir, type ModelSpec } from './models/registry.js';
/** The WASM kernels, for `npm run models` (models-build/kernels.ts compiles them beside the models). */
export { ASC_FLAGS, KERNELS, kernelFingerprint, kernelPath, kernelSource, kernelStampPath, type KernelName } from './kernels/registry.js';
