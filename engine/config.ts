import { z } from 'zod';
import { defineConfig, env } from '../common/config.js';

/** Engine settings an operator may change. Read once per process. */
export const engineConfig = defineConfig(
  'engine',
  z.object({
    /** Execution providers to try in order: `cuda,cpu` on a GPU host, `cpu` elsewhere. */
    ORT_PROVIDERS: z
      .string()
      .default('cpu')
      .transform((v) => v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))
      .pipe(z.array(z.enum(['cuda', 'cpu'])).min(1)),
    /** ONNX Runtime intra-op threads for CPU inference. 1 leaves the other core to ffmpeg on 2-core hosts. */
    ORT_THREADS: env.int(1, 1, 64),
    /** Where `npm run models` put the .onnx files (default: <repo>/models). */
    MODELS_DIR: z.string().optional(),
  }),
);
