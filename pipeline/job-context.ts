import type { Logger } from '../common/logger.js';
import type { Stage } from './contract.js';
import type { PipelineRun } from './run-pipeline.js';

/**
 * What every stage of one job shares: the run itself plus the bookkeeping the result needs. `ran` collects the
 * stages that really did work in this attempt, so the result can say which ones were resumed from stored state.
 */
export interface JobContext extends PipelineRun {
  ran: Set<Stage>;
  /** Throws when the job was cancelled; called before each stage starts paid or long work. */
  checkpoint(): void;
  stageLog(stage: Stage): Logger;
  /** Only output `video` composes the bubble over a background, so only it fetches one. */
  needsBackground: boolean;
}

export function createJobContext(run: PipelineRun): JobContext {
  return {
    ...run,
    ran: new Set<Stage>(),
    checkpoint: () => run.signal.throwIfAborted(),
    stageLog: (stage) => run.log.child({ stage }),
    needsBackground: run.data.output === 'video',
  };
}
