import { z } from 'zod';
import type { OverlayOptions } from './types.js';

/**
 * The validated shape of OverlayOptions. Everything that crosses a process boundary (CLI flags, the GPU worker's
 * HTTP API, pipeline jobs) goes through `parseOverlayOptions`, so defaults and limits live here only.
 */
const hexColor = z.string().regex(/^#?[0-9a-fA-F]{6}$/, 'expected a hex colour like #1e90ff');

export const overlayOptionsSchema = z
  .object({
    engine: z.enum(['fast', 'quality']).default('fast'),
    shape: z.enum(['circle', 'rounded', 'rect']).default('circle'),
    size: z.coerce.number().int().min(64).max(1920).default(720),
    center: z
      .union([z.literal('auto'), z.object({ x: z.number().min(0).max(1), y: z.number().min(0).max(1) })])
      .default('auto'),
    zoom: z.coerce.number().min(0.2).max(1).default(1),
    feather: z.coerce.number().min(0).max(64).default(6),
    border: z.object({ width: z.number().min(0).max(64), color: hexColor }).nullable().default(null),
    cornerRadius: z.coerce.number().min(0).max(0.5).default(0.18),
    formats: z
      .array(z.enum(['webm', 'mov', 'luma', 'note', 'mask']))
      .min(1)
      .default(['webm'])
      .transform((f) => [...new Set(f)]),
    noteBackground: hexColor.default('#101820'),
    smoothing: z.coerce.number().min(0).max(1).default(0.6),
    /**
     * Edge-aware refinement of the person's edge at frame resolution (engine/frame/edges.ts) where the cut comes from
     * the person model's coarse map (the fast engine; ISNet's map is left as it is); false = that map upsampled.
     */
    refineEdges: z.boolean().default(true),
    fps: z.coerce.number().min(0).max(60).default(0),
    maxDurationSec: z.coerce.number().positive().default(180),
    maxInputBytes: z.coerce.number().int().positive().default(2_000_000_000),
    keepAudio: z.boolean().default(true),
  })
  .strict();

export type OverlayOptionsInput = z.input<typeof overlayOptionsSchema>;

/** Throws a ZodError (with the offending field in `issues[].path`) on invalid options. */
export function parseOverlayOptions(input: unknown): OverlayOptions {
  const o = overlayOptionsSchema.parse(input ?? {});
  // Encoders need even dimensions for yuv420 outputs.
  return { ...o, size: o.size - (o.size % 2) } as OverlayOptions;
}
