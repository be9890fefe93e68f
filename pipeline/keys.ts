/**
 * Redis keys the pipeline owns besides BullMQ's, all under `<prefix>:bubblecast:` so a test's unique prefix
 * isolates them with the queue, and nothing collides with BullMQ's `<prefix>:<queue>:*`.
 */
export interface PipelineKeys {
  /** Admin's run-time override of PROCESSING_MODE (absent = use the env value). */
  modeOverride: string;
  /** Sorted set of worker ids scored by their last heartbeat (ms). */
  workers: string;
  heartbeat(workerId: string): string;
  /** Hash of counters: overlay:gpu, overlay:cpu, fallback:<reason>. */
  counters: string;
  /** Hash of a job's finished stages (field = stage output name, value = JSON). */
  state(jobId: string): string;
  /** Set once the result reached the chat; checked before sending, so a retried job never sends twice. */
  delivered(jobId: string): string;
  /** Set once the failure notice was sent. */
  failureNotified(jobId: string): string;
  /** Set by cancelJob for a running job; the worker polls it. */
  cancel(jobId: string): string;
  /** The random part of the job's work folder name (see worker/work-folder.ts). */
  workFolder(jobId: string): string;
}

export function pipelineKeys(prefix: string): PipelineKeys {
  const base = `${prefix}:bubblecast`;
  return {
    modeOverride: `${base}:mode-override`,
    workers: `${base}:workers`,
    heartbeat: (id) => `${base}:heartbeat:${id}`,
    counters: `${base}:counters`,
    state: (id) => `${base}:state:${id}`,
    delivered: (id) => `${base}:delivered:${id}`,
    failureNotified: (id) => `${base}:failure-notified:${id}`,
    cancel: (id) => `${base}:cancel:${id}`,
    workFolder: (id) => `${base}:work-folder:${id}`,
  };
}
