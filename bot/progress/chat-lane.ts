import type { Logger } from '../../common/logger.js';

/**
 * Status-message edits, one lane per chat. Telegram's limits are per chat (about one message a second in a
 * private chat, 20 a minute in a group), so the edit budget is the chat's, shared by all its jobs:
 *  - one edit at a time per chat, in order (a slow progress edit never lands after "done");
 *  - progress edits at least `intervalMs` apart per chat; the newest report of a job replaces its older one still
 *    waiting, and jobs take turns (the one that waited longest goes first);
 *  - a 429 holds the whole chat for `retry_after`; what was refused waits in the lane and goes out after the hold,
 *    unless something newer of the same job replaced it.
 * Texts shown on purpose (done, failed, cancelled, retry queued) skip the interval but respect a hold.
 */
export type EditOutcome = 'sent' | 'skipped' | { retryAfterMs: number };

export interface LaneTask {
  run(): Promise<EditOutcome>;
  /** A progress report: waits for the chat's interval. */
  progress: boolean;
  /** Checked right before running; true drops the task (e.g. a progress report of a job that has finished). */
  skip(): boolean;
}

interface Lane {
  /** Earliest start of the next progress edit (the interval after the last edit). */
  nextAt: number;
  /** Nothing is sent to this chat before this (a 429's retry_after). */
  holdUntil: number;
  /** Tasks waiting for their turn, one per job, oldest turn first. */
  waiting: Map<string, LaneTask>;
  timer: NodeJS.Timeout | null;
  /** A waiting task was taken and is in the chain (only one at a time). */
  pumping: boolean;
  /** Tasks queued or running in the chain; an idle lane is forgotten only when this is 0. */
  active: number;
  chain: Promise<void>;
}

export class ChatLanes {
  private readonly lanes = new Map<number, Lane>();
  private closed = false;

  constructor(
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** Queues a progress edit for the chat's next free slot; it replaces the job's older one still waiting. */
  offer(chatId: number, jobId: string, task: LaneTask): void {
    if (this.closed) return;
    const lane = this.laneOf(chatId);
    lane.waiting.set(jobId, task);
    this.pump(chatId, lane);
  }

  /**
   * Runs a task after whatever of this chat is running now, without waiting for the interval. Resolves when it
   * ran — or, when the chat is held by a 429, once it is queued to run after the hold.
   */
  async now(chatId: number, jobId: string, task: LaneTask): Promise<void> {
    if (this.closed) return;
    const lane = this.laneOf(chatId);
    // An older report of the job still waiting would only undo what this shows.
    lane.waiting.delete(jobId);
    try {
      await this.serial(lane, () => this.attempt(chatId, lane, jobId, task));
    } finally {
      this.pump(chatId, lane);
    }
  }

  close(): void {
    this.closed = true;
    for (const lane of this.lanes.values()) if (lane.timer) clearTimeout(lane.timer);
    this.lanes.clear();
  }

  private laneOf(chatId: number): Lane {
    let lane = this.lanes.get(chatId);
    if (!lane) {
      lane = { nextAt: 0, holdUntil: 0, waiting: new Map(), timer: null, pumping: false, active: 0, chain: Promise.resolve() };
      this.lanes.set(chatId, lane);
    }
    return lane;
  }

  private readyAt(lane: Lane, task: LaneTask): number {
    return task.progress ? Math.max(lane.nextAt, lane.holdUntil) : lane.holdUntil;
  }

  private pump(chatId: number, lane: Lane): void {
    if (this.closed || lane.timer || lane.pumping) return;
    const first = lane.waiting.entries().next();
    if (first.done) return this.forgetWhenIdle(chatId, lane);
    const [jobId, task] = first.value;
    const wait = this.readyAt(lane, task) - Date.now();
    if (wait > 0) {
      lane.timer = setTimeout(() => {
        lane.timer = null;
        this.pump(chatId, lane);
      }, wait);
      return;
    }
    lane.waiting.delete(jobId);
    lane.pumping = true;
    this.serial(lane, () => this.attempt(chatId, lane, jobId, task))
      .catch((e: unknown) => this.log.warn({ chatId, jobId, err: (e as Error).message }, 'status update failed'))
      .finally(() => {
        lane.pumping = false;
        this.pump(chatId, lane);
      });
  }

  private async attempt(chatId: number, lane: Lane, jobId: string, task: LaneTask): Promise<void> {
    if (task.skip()) return;
    // Re-checked here: an edit that ran just before this one in the chain may have moved the slot or got a 429.
    if (Date.now() < this.readyAt(lane, task)) return this.requeue(lane, jobId, task);
    const outcome = await task.run();
    if (outcome === 'skipped') return;
    if (outcome === 'sent') {
      lane.nextAt = Date.now() + this.intervalMs;
      return;
    }
    lane.holdUntil = Date.now() + outcome.retryAfterMs;
    lane.nextAt = Math.max(lane.nextAt, lane.holdUntil);
    this.log.warn({ chatId, jobId, retryAfterMs: outcome.retryAfterMs }, 'status edits of this chat held (429)');
    this.requeue(lane, jobId, task);
  }

  /** Back into the lane, unless the job has offered something newer meanwhile. */
  private requeue(lane: Lane, jobId: string, task: LaneTask): void {
    if (!lane.waiting.has(jobId)) lane.waiting.set(jobId, task);
  }

  private serial(lane: Lane, run: () => Promise<void>): Promise<void> {
    lane.active++;
    const next = lane.chain.then(run, run).finally(() => lane.active--);
    lane.chain = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** A lane with nothing waiting or running is dropped once its interval and hold have passed. */
  private forgetWhenIdle(chatId: number, lane: Lane): void {
    if (lane.active > 0 || lane.pumping) return;
    const until = Math.max(lane.nextAt, lane.holdUntil) - Date.now();
    if (until <= 0) {
      if (this.lanes.get(chatId) === lane) this.lanes.delete(chatId);
      return;
    }
    lane.timer = setTimeout(() => {
      lane.timer = null;
      this.pump(chatId, lane);
    }, until);
    lane.timer.unref();
  }
}
