import type { JobsOptions } from 'bullmq';
import type { Logger } from '../common/logger.js';
import type { InputLimits, PipelineHandle, ProcessingMode } from '../pipeline/contract.js';
import type { PreviewService } from './preview/preview-service.js';
import type { StatusNotifier } from './progress/status-notifier.js';
import type { BotStore } from './store.js';

/** Everything the bot's handlers use besides the Telegram API: injected, so tests wire real pieces with test settings. */
export interface BotDeps {
  pipeline: PipelineHandle;
  store: BotStore;
  limits: InputLimits;
  maxActivePerUser: number;
  adminIds: readonly number[];
  /** PROCESSING_MODE from the env (what /mode shows when no admin override is set). */
  envMode: ProcessingMode;
  /** null: no preview photo (the summary is text only). */
  preview: PreviewService | null;
  /** Edits status messages; the handlers use it for cancel/retry (the events come from the queue). */
  status: StatusNotifier;
  conversationTtlSec: number;
  /** Overrides of the pipeline's DEFAULT_JOB_OPTIONS (tests use short backoffs). */
  jobOptions?: Omit<JobsOptions, 'jobId'>;
  log: Logger;
}
