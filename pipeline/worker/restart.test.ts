import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { needSharedMedia, repoRoot } from '../../testing/media.js';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { DEFAULT_READINGS, formatReadings } from '../../shotstack/readings.js';
import { failureOfJob } from '../contract.js';
import { STALLED_LIMIT_REASON } from '../failures.js';
import { pipelineKeys } from '../keys.js';
import { failureText } from '../messages.js';
import { BOT_TOKEN, makeTestClips, REDIS_URL, startHarness, type Harness, type TestClips } from '../test-support.js';

/**
 * `npm run worker` as a real child process (pipeline/worker/main.ts through tsx, configured only by env), killed
 * and restarted: a SIGKILL mid-render must end with exactly one video (the render resumed, not resubmitted); a
 * SIGTERM hands the running job back to the queue without using one of its attempts; a job whose worker dies more
 * often than PIPELINE_MAX_STALLED_COUNT allows fails with one clear message.
 */
describe.skipIf(!needSharedMedia())('worker process restarts', () => {
  let h: Harness;
  let clips: TestClips;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    h = await startHarness('restart');
    clips = await makeTestClips(join(h.workDir, 'clips'));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await once(c, 'exit');
      }
    }
  });
  afterAll(async () => {
    await h?.close();
  });

  function startWorkerProcess(env: Record<string, string> = {}): { child: ChildProcess; output: () => string } {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'pipeline/worker/main.ts')], {
      cwd: repoRoot,
      env: {
        ...process.env,
        VITEST: '',
        LOG_LEVEL: 'warn',
        REDIS_URL,
        PIPELINE_QUEUE_PREFIX: h.prefix,
        WORK_DIR: join(h.workDir, 'work'),
        PROCESSING_MODE: 'cpu',
        BOT_TOKEN,
        TELEGRAM_API_ROOT: h.tg.apiRoot,
        SHOTSTACK_API_URL: h.shotstack.url,
        SHOTSTACK_API_KEY: '',
        SHOTSTACK_POLL_INTERVAL_MS: '100',
        // The readings are forced: this file counts render submissions, and a calibration would add its probes.
        SHOTSTACK_READINGS: formatReadings(DEFAULT_READINGS),
        PIPELINE_RESOLUTION: 'sd',
        PIPELINE_LOCK_DURATION_MS: '2000',
        PIPELINE_STALLED_INTERVAL_MS: '1000',
        PIPELINE_HEARTBEAT_INTERVAL_MS: '1000',
        ORT_PROVIDERS: 'cpu',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c));
    child.stderr!.on('data', (c: Buffer) => (output += c));
    children.push(child);
    return { child, output: () => output };
  }

  async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  it('SIGKILL during the render: after a restart the job completes and the user gets exactly one video', async () => {
    // Hold every render status a while, so the render is surely in flight when the worker dies.
    h.shotstack.injectFaults({ statusHoldMs: 1500 });
    const renderPosts = () => h.shotstack.requests.filter((r) => r.method === 'POST' && r.path === '/edit/stage/render').length;
    const postsBefore = renderPosts();
    try {
      const first = startWorkerProcess();
      const jobId = await h.enqueue({ head: h.telegramRef(clips.head), background: h.telegramRef(clips.background), output: 'video' });
      const stateKey = pipelineKeys(h.prefix).state(jobId);
      await until('the render to be submitted', async () => (await h.redis.hexists(stateKey, 'render')) === 1, 90_000).catch((e: Error) => {
        throw new Error(`${e.message}\n${first.output()}`);
      });
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');
      expect(h.tg.sentFiles).toHaveLength(0);

      const second = startWorkerProcess();
      const { state, job } = await h.waitFinished(jobId, 90_000).catch((e: Error) => {
        throw new Error(`${e.message}\n${second.output()}`);
      });
      expect(state, job.failedReason).toBe('completed');
      expect(h.tg.sentFiles.filter((f) => f.chatId === job.data.chatId).map((f) => f.method)).toEqual(['sendVideo']);
      // The second worker polled the render the first one had submitted: no second render, no second overlay.
      expect(renderPosts() - postsBefore).toBe(1);
      expect(job.returnvalue.resumed).toEqual(['fetch', 'overlay']);
    } finally {
      h.shotstack.clearFaults();
    }
  });

  it('SIGTERM hands the running job back (no attempt used); another worker completes it', async () => {
    const first = startWorkerProcess({ PIPELINE_SHUTDOWN_GRACE_MS: '0' });
    const jobId = await h.enqueue({ head: h.telegramRef(clips.head), output: 'note', background: null });
    await until('the overlay stage to start', async () => {
      const job = await h.queue.getJob(jobId);
      return (job?.progress as { stage?: string } | undefined)?.stage === 'overlay';
    }).catch((e: Error) => {
      throw new Error(`${e.message}\n${first.output()}`);
    });
    const stoppedAt = Date.now();
    first.child.kill('SIGTERM');
    const [code] = (await once(first.child, 'exit')) as [number | null];
    expect(code, first.output()).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    const handedBack = await h.queue.getJob(jobId);
    expect(['delayed', 'waiting']).toContain(await handedBack!.getState());
    expect(handedBack!.attemptsMade).toBe(0);

    const second = startWorkerProcess();
    const { state, job } = await h.waitFinished(jobId, 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${second.output()}`);
    });
    expect(state, job.failedReason).toBe('completed');
    expect(h.tg.sentFiles.filter((f) => f.chatId === job.data.chatId).map((f) => f.method)).toEqual(['sendVideoNote']);
  });

  it('a worker SIGKILLed past PIPELINE_MAX_STALLED_COUNT: the job fails and the user gets one clear message', async () => {
    const env = { PIPELINE_MAX_STALLED_COUNT: '0' };
    const first = startWorkerProcess(env);
    const jobId = await h.enqueue({ head: h.telegramRef(clips.head), output: 'note', background: null });
    await until('the overlay stage to start', async () => {
      const job = await h.queue.getJob(jobId);
      return (job?.progress as { stage?: string } | undefined)?.stage === 'overlay';
    }).catch((e: Error) => {
      throw new Error(`${e.message}\n${first.output()}`);
    });
    // The folder's name is the job id plus a random part drawn once per job (not guessable from the id).
    const folders = (await readdir(join(h.workDir, 'work'))).filter((n) => n.startsWith(`${jobId}.`));
    expect(folders).toHaveLength(1);
    expect(folders[0]).toMatch(new RegExp(`^${jobId}\\.[0-9a-f]{24}$`));
    const workDir = join(h.workDir, 'work', folders[0]!);
    expect(existsSync(workDir)).toBe(true);
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');

    // BullMQ fails the job itself (the processor never runs for it); the worker turns that into the user's notice.
    const second = startWorkerProcess(env);
    const { state, job } = await h.waitFinished(jobId, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${second.output()}`);
    });
    expect(state).toBe('failed');
    expect(job.failedReason).toBe(STALLED_LIMIT_REASON);
    expect(failureOfJob(job)).toMatchObject({ code: 'interrupted', userFixable: false });
    const texts = () => h.tg.callsOf('sendMessage').filter((c) => c.params.chat_id === job.data.chatId).map((c) => c.params.text);
    await until('the failure notice', async () => texts().length > 0, 10_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${second.output()}`);
    });
    await until('the work folder to be removed', async () => !existsSync(workDir), 5_000);
    // Give a duplicate notice a moment to show up: there must be none.
    await sleep(1000);
    expect(texts()).toEqual([failureText('interrupted', 'en')]);
    expect(h.tg.sentFiles.filter((f) => f.chatId === job.data.chatId)).toHaveLength(0);
    expect(await h.redis.exists(pipelineKeys(h.prefix).failureNotified(jobId))).toBe(1);
  });
});
