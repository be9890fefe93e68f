import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

/**
 * A job's work folder: `<jobId>.<random>`. The job id stays deterministic (it is the BullMQ id and dedups
 * submissions: `chat<id>-msg<id>`), but a folder name built from it alone could be guessed — and named by a hostile
 * file as a path to another user's inputs. The random part is drawn once per job and kept in Redis, so every attempt
 * (on any worker sharing the volume) resumes in the same folder.
 */
export interface WorkFolders {
  /** The job's folder, drawing its random name on first use. */
  forJob(jobId: string): Promise<string>;
  /** The job's folder if one was ever drawn (for clean-up), else null. */
  existing(jobId: string): Promise<string | null>;
}

export function workFolders(redis: Redis, key: (jobId: string) => string, root: string, ttlSec: number): WorkFolders {
  return {
    async forJob(jobId) {
      await redis.set(key(jobId), randomBytes(12).toString('hex'), 'EX', ttlSec, 'NX');
      const name = await redis.get(key(jobId));
      if (!name) throw new Error(`work folder name for ${jobId} vanished from Redis`);
      return join(root, `${jobId}.${name}`);
    },
    async existing(jobId) {
      const name = await redis.get(key(jobId));
      return name ? join(root, `${jobId}.${name}`) : null;
    },
  };
}

/** The job id a work folder belongs to (folders from before random names are the bare job id). */
export function jobIdOfFolder(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 && /^[0-9a-f]{24}$/.test(name.slice(dot + 1)) ? name.slice(0, dot) : name;
}
