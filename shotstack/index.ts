/** Public API of the Shotstack part: client, bubble timeline builder, local renderer, config. */
export { createShotstackClient } from './client.js';
export type { CallOptions, IngestOptions, RenderResult, ShotstackClient, ShotstackClientOptions, WaitOptions } from './client.js';
export { ShotstackError, isShotstackError } from './errors.js';
export type { ShotstackErrorDetails, ShotstackErrorKind } from './errors.js';
export {
  BUBBLE_POSITIONS,
  MATTE_SOURCE_FIELD,
  SHOTSTACK_FPS,
  bubblePlacement,
  buildBubbleEdit,
  clipScale,
  matteVariantFor,
  outputDuration,
} from './timeline.js';
export type {
  BubbleAspect,
  BubbleEditInput,
  BubbleEditOptions,
  BubbleGeometryOptions,
  BubbleOverlay,
  BubblePlacement,
  BubblePosition,
  BubbleResolution,
  DurationRule,
  MatteVariant,
} from './timeline.js';
export {
  DEFAULT_READINGS,
  READING_KEYS,
  ReadingsSyntaxError,
  formatReadings,
  missingReadings,
  parseReadingsList,
  readingsFromList,
} from './readings.js';
export type { AlphaFate, LumaGeometry, RendererReadings, ScaleBase } from './readings.js';
export { DEFAULT_ROUNDED_CORNER, MAX_RING_WIDTH_PX, RING_TUCK_PX } from './bubble-ring.js';
export type { BubbleRing, BubbleShape } from './bubble-ring.js';
export { invertMatte, prepareMatte, viewportMatte } from './matte.js';
export type { MatteFrame } from './matte.js';
export { outputPixelSize } from './output-size.js';
export {
  SHOTSTACK_CLOUD_URL,
  clientOptionsFromConfig,
  loadShotstackConfig,
  resolveApiUrl,
  shotstackConfigSchema,
  usesLocalRenderer,
} from './config.js';
export type { ShotstackConfig } from './config.js';
export { DEFAULT_RETENTION_MS, startLocalShotstack } from './local/server.js';
export { DEFAULT_LIMITS } from './local/limits.js';
export type { LocalLimits } from './local/limits.js';
export type { LocalShotstack, LocalShotstackOptions, RequestLogEntry } from './local/server.js';
export type { FaultResponse, FaultRoute, LocalFaults } from './local/faults.js';
export type * from './types.js';
