/**
 * Redis keys the pipeline owns besides BullMQ's (whose jobs go by removeOnComplete/removeOnFail, contract.ts), all under `<prefix>:bubblecast:` so a test's unique prefix
 * isolates them with the queue, and nothing collides with BullMQ's `<prefix>:<queue>:*`. Every one but `counters`
 * expires: per-job keys after PIPELINE_STATE_TTL_SEC (the «Send again» ones after their 24 h window, cancel after
 * 24 h), heartbeats after three missed beats, the workers set a day after the last beat, the mode override 180 days
 * after it was last read (mode.ts). pipeline/worker/retention.test.ts checks it after a real job.
 */
export interface PipelineKeys {
  /** Admin's run-time override of PROCESSING_MODE (absent = use the env value). */
  modeOverride: string;
  /** Sorted set of worker ids scored by their last heartbeat (ms). */
  workers: string;
  heartbeat(workerId: string): string;
  /**
   * Hash of counters: overlay:gpu, overlay:cpu, fallback:<reason>, failed:<code> (operator-numbers.ts). The one key
   * here WITHOUT a TTL, on purpose: it is a running total since the hash was created (what /stats and /metrics
   * show), and it grows only by the number of distinct codes and reasons, never with jobs or users.
   */
  counters: string;
  /** Hash of a job's finished stages (field = stage output name, value = JSON). */
  state(jobId: string): string;
  /** Set right after the result reached the chat (worker/delivery-claim.ts); a run that finds it sends nothing. */
  delivered(jobId: string): string;
  /** Set (NX) right before the result is sent: a run that finds it without `delivered` does not send blindly. */
  deliveryClaim(jobId: string): string;
  /** The claim a «Send again» button may approve; while it lives (24 h) the job's rendered file is kept. */
  resendParked(jobId: string): string;
  /** The user pressed «Send again»: holds the claim it approves, so one more send may take that claim over. */
  resendApproved(jobId: string): string;
  /** Set once the failure notice was sent. */
  failureNotified(jobId: string): string;
  /** Set (NX) when the job's final failure was counted, so a failure processed twice counts once. */
  failureCounted(jobId: string): string;
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
    deliveryClaim: (id) => `${base}:delivery-claim:${id}`,
    resendParked: (id) => `${base}:resend-parked:${id}`,
    resendApproved: (id) => `${base}:resend-approved:${id}`,
    failureNotified: (id) => `${base}:failure-notified:${id}`,
    failureCounted: (id) => `${base}:failure-counted:${id}`,
    cancel: (id) => `${base}:cancel:${id}`,
    workFolder: (id) => `${base}:work-folder:${id}`,
  };
}
