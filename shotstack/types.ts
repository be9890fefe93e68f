// The package's index.d.ts re-exports "./schema" without an extension, which NodeNext resolution cannot follow,
// so the generated OpenAPI types are imported from their file (type-only: erased at runtime).
import type { components } from '../node_modules/@shotstack/schemas/dist/schema.js';

/**
 * Wire types of the Shotstack APIs, taken from the official `@shotstack/schemas` package so the client, the
 * builder and the local renderer all speak the exact shapes the real service documents.
 */
export type Edit = components['schemas']['Edit'];
export type Timeline = components['schemas']['Timeline'];
export type Track = components['schemas']['Track'];
export type Clip = components['schemas']['Clip'];
export type Output = components['schemas']['Output'];
export type VideoAsset = components['schemas']['VideoAsset'];
export type LumaAsset = components['schemas']['LumaAsset'];
export type ClipPosition = NonNullable<Clip['position']>;
export type ClipFit = NonNullable<Clip['fit']>;
export type OutputResolution = NonNullable<Output['resolution']>;
export type OutputAspectRatio = NonNullable<Output['aspectRatio']>;

export type QueuedResponse = components['schemas']['QueuedResponse'];
export type RenderResponse = components['schemas']['RenderResponse'];
export type RenderResponseData = components['schemas']['RenderResponseData'];
export type UploadResponse = components['schemas']['UploadResponse'];
export type SourceResponse = components['schemas']['SourceResponse'];
export type SourceResponseAttributes = components['schemas']['SourceResponseAttributes'];
export type AssetRenderResponse = components['schemas']['AssetRenderResponse'];
export type AssetResponseAttributes = components['schemas']['AssetResponseAttributes'];

/** `stage` = sandbox (watermarked, separate key), `v1` = production. */
export type ShotstackEnv = 'stage' | 'v1';

/** Render statuses documented today. The client treats any other string as "still running". */
export type RenderStatus = RenderResponseData['status'];
export type SourceStatus = NonNullable<SourceResponseAttributes['status']>;

/**
 * Which way a luma matte is read. Shotstack's own pages disagree (the masking guide: white = visible; the luma
 * transition tutorial and a Studio SDK issue: white = transparent), so it is one of the renderer's readings
 * (readings.ts), measured by calibration or forced with SHOTSTACK_READINGS.
 */
export type LumaPolarity = 'white-visible' | 'white-transparent';
