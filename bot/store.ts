import type { Redis } from 'ioredis';
import type { Language } from '../pipeline/contract.js';
import { parseOptions, type ChosenOptions } from './flow/options.js';

/**
 * The bot's own Redis keys, under `<prefix>:bubblecast:bot:` beside the pipeline's keys (a test's unique prefix
 * isolates them too): per-user defaults, each job's status message, and each user's recent job ids.
 */
export interface StatusRecord {
  chatId: number;
  messageId: number;
  lang: Language;
  /** Heads every text of the message when one order made several jobs (which result it is about). */
  title?: string;
}

const DAY = 24 * 3600;

/**
 * Every key here expires. Per-job records live 7 days (as long as the pipeline's job state), a user's recent job
 * list 30 days after the last job; saved defaults (a setting the user chose) BOT_DEFAULTS_TTL_SEC, 180 days by
 * default, counted from the last time they were used or changed, so an active user never loses them.
 */
export const DEFAULTS_TTL_SEC = 180 * DAY;

export class BotStore {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
    private readonly o: { defaultsTtlSec?: number } = {},
  ) {}

  private get defaultsTtlSec(): number {
    return this.o.defaultsTtlSec ?? DEFAULTS_TTL_SEC;
  }

  private key(...parts: Array<string | number>): string {
    return [`${this.prefix}:bubblecast:bot`, ...parts].join(':');
  }

  /** Prefix of the conversation state keys (the conversations plugin adds `dialogueKey`: chat, or chat:user in groups). */
  conversationPrefix(): string {
    return `${this.key('conv')}:`;
  }

  async getDefaults(userId: number): Promise<ChosenOptions | null> {
    // Reading them is using them: the TTL starts over.
    const raw = await this.redis.getex(this.key('defaults', userId), 'EX', this.defaultsTtlSec);
    if (!raw) return null;
    try {
      return parseOptions(JSON.parse(raw));
    } catch {
      return null;
    }
  }

  async setDefaults(userId: number, o: ChosenOptions): Promise<void> {
    await this.redis.set(this.key('defaults', userId), JSON.stringify(o), 'EX', this.defaultsTtlSec);
  }

  async setStatus(jobId: string, r: StatusRecord): Promise<void> {
    await this.redis.set(this.key('status', jobId), JSON.stringify(r), 'EX', 7 * DAY);
  }

  async getStatus(jobId: string): Promise<StatusRecord | null> {
    const raw = await this.redis.get(this.key('status', jobId));
    return raw ? (JSON.parse(raw) as StatusRecord) : null;
  }

  /**
   * Remembers the text last shown in a job's status message; false when it already showed exactly this (Telegram
   * refuses identical edits, and two bot instances during a deploy overlap both hear every event).
   */
  async claimStatusText(jobId: string, text: string, markup?: unknown): Promise<boolean> {
    const key = this.key('status-text', jobId);
    const shown = `${text}\u0000${JSON.stringify(markup ?? null)}`;
    const prev = await this.redis.getset(key, shown);
    await this.redis.expire(key, 7 * DAY);
    return prev !== shown;
  }

  async forgetStatusText(jobId: string): Promise<void> {
    await this.redis.del(this.key('status-text', jobId));
  }

  /** The last queue event the status notifier handled: a restarted bot catches up from there. */
  async getLastEventId(): Promise<string | null> {
    return this.redis.get(this.key('last-event-id'));
  }

  async setLastEventId(id: string): Promise<void> {
    await this.redis.set(this.key('last-event-id'), id, 'EX', 7 * DAY);
  }

  /** Who a bot message with buttons belongs to (group chats: its buttons answer only that user). */
  async setMenuOwner(chatId: number, messageId: number, userId: number): Promise<void> {
    await this.redis.set(this.key('menu', chatId, messageId), String(userId), 'EX', 7 * DAY);
  }

  async getMenuOwner(chatId: number, messageId: number): Promise<number | null> {
    const raw = await this.redis.get(this.key('menu', chatId, messageId));
    return raw === null ? null : Number(raw);
  }

  async addUserJob(userId: number, jobId: string): Promise<void> {
    const key = this.key('jobs', userId);
    await this.redis.multi().lrem(key, 0, jobId).lpush(key, jobId).ltrim(key, 0, 9).expire(key, 30 * DAY).exec();
  }

  async userJobs(userId: number): Promise<string[]> {
    return this.redis.lrange(this.key('jobs', userId), 0, 9);
  }

  /** Removes every key of the bot under this prefix (tests). */
  async clear(): Promise<void> {
    const keys = await this.redis.keys(`${this.key()}:*`);
    if (keys.length) await this.redis.del(...keys);
  }
}
