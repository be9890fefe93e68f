import { execFile } from 'node:child_process';
import ort from 'onnxruntime-node';
import type { Logger } from '../common/logger.js';
import { logger as rootLogger } from '../common/logger.js';
import { engineConfig } from './config.js';
import { requireModelFile, type ModelSpec } from './models/registry.js';

/**
 * ONNX Runtime sessions, one per model, created lazily and kept for the life of the process.
 * The provider is decided by trying CUDA *alone* first: ORT would otherwise quietly place every node on the CPU
 * when the CUDA libraries fail to load, and we must never report GPU when the work ran on the CPU.
 */
export interface LoadedModel {
  spec: ModelSpec;
  session: ort.InferenceSession;
  provider: 'cuda' | 'cpu';
  /** Why CUDA was not used, when it was asked for. */
  fallbackReason: string | null;
  loadMs: number;
}

const loaded = new Map<ModelSpec['id'], Promise<LoadedModel>>();

export function getModel(spec: ModelSpec, log: Logger = rootLogger): Promise<LoadedModel> {
  let p = loaded.get(spec.id);
  if (!p) {
    p = createSession(spec, log);
    loaded.set(spec.id, p);
    p.catch(() => loaded.delete(spec.id));
  }
  return p;
}

export function loadedModels(): ModelSpec['id'][] {
  return [...loaded.keys()];
}

export async function peekModel(id: ModelSpec['id']): Promise<LoadedModel | null> {
  const p = loaded.get(id);
  return p ? p.catch(() => null) : null;
}

async function createSession(spec: ModelSpec, log: Logger): Promise<LoadedModel> {
  const cfg = engineConfig();
  const path = requireModelFile(spec);
  const started = performance.now();
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: cfg.ORT_THREADS,
    interOpNumThreads: 1,
  };
  let fallbackReason: string | null = null;
  if (cfg.ORT_PROVIDERS.includes('cuda')) {
    try {
      const session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cuda'] });
      const loadMs = performance.now() - started;
      log.info({ model: spec.id, provider: 'cuda', loadMs }, 'model loaded');
      return { spec, session, provider: 'cuda', fallbackReason: null, loadMs };
    } catch (e) {
      fallbackReason = `CUDA provider unavailable: ${(e as Error).message.split('\n')[0]}`;
      if (!cfg.ORT_PROVIDERS.includes('cpu')) throw new Error(fallbackReason);
      log.warn({ model: spec.id, reason: fallbackReason }, 'CUDA requested but not usable; running on CPU');
    }
  }
  const session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] });
  const loadMs = performance.now() - started;
  log.info({ model: spec.id, provider: 'cpu', loadMs, threads: cfg.ORT_THREADS }, 'model loaded');
  return { spec, session, provider: 'cpu', fallbackReason, loadMs };
}

/** Runs the model on one NCHW float32 input and returns the probability map (length width*height). */
export async function infer(model: LoadedModel, input: Float32Array): Promise<Float32Array> {
  const { spec, session } = model;
  const tensor = new ort.Tensor('float32', input, [1, 3, spec.height, spec.width]);
  const out = await session.run({ [spec.inputName]: tensor }, [spec.outputName]);
  const data = out[spec.outputName].data as Float32Array;
  tensor.dispose?.();
  return data;
}

let gpuNamePromise: Promise<string | null> | null = null;

/** The GPU's marketing name from nvidia-smi, or null where there is none. */
export function gpuName(): Promise<string | null> {
  gpuNamePromise ??= new Promise((resolve) => {
    execFile('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { timeout: 5000 }, (err, stdout) =>
      resolve(err ? null : stdout.trim().split('\n')[0] || null),
    );
  });
  return gpuNamePromise;
}
