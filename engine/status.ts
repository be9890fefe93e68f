import { engineConfig } from './config.js';
import { kernelModule } from './kernels/load.js';
import { KERNELS } from './kernels/registry.js';
import { MODELS } from './models/registry.js';
import { getModel, gpuName, peekModel } from './session.js';
import type { EngineName } from './types.js';

const PERSON_MODELS = [MODELS.selfie_general, MODELS.selfie_landscape];

/**
 * Loads the models behind the given engines so the first job does not pay for it. The quality engine runs the person
 * models too (their map bounds ISNet's, see engine/frame/fuse.ts), so warming it loads both kinds. The WASM kernels
 * are compiled too.
 */
export async function warmup(engines: EngineName[]): Promise<void> {
  // The WASM kernels first: compiled once per process, and a missing or stale build fails here, not in the first job.
  for (const name of KERNELS) kernelModule(name);
  const specs = new Set(engines.flatMap((e) => (e === 'fast' ? PERSON_MODELS : [MODELS.isnet_medium, ...PERSON_MODELS])));
  await Promise.all([...specs].map((s) => getModel(s)));
}

export interface EngineStatus {
  models: Array<{ engine: EngineName; model: string; loaded: boolean; provider: 'cuda' | 'cpu' | null; fallbackReason: string | null }>;
  gpuName: string | null;
  providersRequested: string[];
}

/** What is loaded and on which provider it really runs (for /health and admin views). */
export async function engineStatus(): Promise<EngineStatus> {
  const models = await Promise.all(
    Object.values(MODELS).map(async (spec) => {
      const m = await peekModel(spec.id);
      return { engine: spec.engine, model: spec.id, loaded: !!m, provider: m?.provider ?? null, fallbackReason: m?.fallbackReason ?? null };
    }),
  );
  return { models, gpuName: await gpuName(), providersRequested: engineConfig().ORT_PROVIDERS };
}
