import type { OverlayRecord } from '../contract.js';
import type { MediaInfo } from '../../common/ffmpeg.js';
import type { RoutingRecord } from '../routing/router.js';
import type { RendererReadings } from '../../shotstack/readings.js';
import type { MatteVariant } from '../../shotstack/timeline.js';

/**
 * What each finished stage leaves behind: references (paths in the job's work dir, remote URLs, render ids),
 * never bytes. The worker keeps them in a Redis hash per job, the CLI in memory; a retried job reads them and
 * resumes after the last finished stage (the GPU work is never redone after a Shotstack hiccup).
 */
export interface LocalMedia {
  path: string;
  sizeBytes: number;
  durationSec: number;
  width: number;
  height: number;
  hasAudio: boolean;
  /** Frame rate as probed (absent in states written before routing). */
  fps?: number;
  /** The media gate's whole probe, handed to the CPU engine so it does not probe again (absent in older states). */
  probe?: MediaInfo;
}

export interface InputsState {
  head: LocalMedia;
  background: LocalMedia | null;
  ms: number;
}

export interface OverlayState {
  record: OverlayRecord;
  /** Result files by the engine's fixed names (overlay.webm, color.mp4, matte.mp4, note.mp4, overlay.mov). */
  files: Record<string, string>;
  durationSec: number;
  width: number;
  height: number;
  ms: number;
  /**
   * Auto mode: where the router sent the job, its estimate of both paths (s), and the path that ran with its real
   * time and the estimate's error (pipeline/routing/). Absent in other modes and in older states.
   */
  routing?: RoutingRecord;
}

export type IngestedOverlay =
  /** `matteSrc` is the ingested matte, in the form (`matte`) the readings of the ingest needed. */
  | { kind: 'luma'; colorSrc: string; matteSrc: string; matte: MatteVariant }
  | { kind: 'alpha'; src: string };

export interface IngestState {
  /** Which renderer holds these sources; another renderer (or a restarted local one) means ingest again. */
  renderer: string;
  /**
   * The renderer's readings the sources were made for (the matte's form) and the Edit is built with; readings that
   * changed since (a new calibration) mean ingest again, so one render never mixes two. Absent in older states.
   */
  readings: RendererReadings;
  overlay: IngestedOverlay;
  backgroundSrc: string;
  ms: number;
}

export interface RenderState {
  renderer: string;
  renderId: string;
  submittedAt: string;
  /** Time spent so far in this stage (ingest + submit), added to by the wait and download. */
  ms: number;
}

export interface RenderedState {
  path: string;
  bytes: number;
  /** The renderer's URL of the file (Shotstack's is public for 24 h; the local renderer's is not). */
  url: string;
  durationSec: number;
  width: number;
  height: number;
  ms: number;
}

export interface StageStateMap {
  inputs: InputsState;
  overlay: OverlayState;
  ingest: IngestState;
  render: RenderState;
  rendered: RenderedState;
}

export type StateKey = keyof StageStateMap;

export interface StateStore {
  get<K extends StateKey>(key: K): Promise<StageStateMap[K] | undefined>;
  set<K extends StateKey>(key: K, value: StageStateMap[K]): Promise<void>;
  delete(...keys: StateKey[]): Promise<void>;
}

export class MemoryStateStore implements StateStore {
  private readonly values = new Map<StateKey, unknown>();

  async get<K extends StateKey>(key: K): Promise<StageStateMap[K] | undefined> {
    return this.values.get(key) as StageStateMap[K] | undefined;
  }

  async set<K extends StateKey>(key: K, value: StageStateMap[K]): Promise<void> {
    this.values.set(key, structuredClone(value));
  }

  async delete(...keys: StateKey[]): Promise<void> {
    for (const k of keys) this.values.delete(k);
  }
}
