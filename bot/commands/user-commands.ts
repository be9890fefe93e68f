import { Composer } from 'grammy';
import { answerCallback } from '../../common/telegram/best-effort.js';
import { packBlocks, sendParts } from '../../common/telegram/split-text.js';
import { retryJob } from '../../pipeline/admin.js';
import { failureOfJob, failureText, parseProgress, type RenderJob } from '../../pipeline/contract.js';
import type { BotContext } from '../context.js';
import type { BotDeps } from '../deps.js';
import { CB, TRY_AGAIN_RE } from '../flow/callbacks.js';
import { settingsKeyboard } from '../flow/keyboards.js';
import { ORDER } from '../flow/order.js';
import { SETTINGS } from '../flow/settings.js';
import { summaryText } from '../flow/summary.js';
import { langOf, t } from '../i18n/index.js';
import { acceptVideo } from '../media/accept.js';
import { limitProblem } from '../media/limits.js';

/** /start, /help, /new, /status, /settings, and a video sent outside a dialogue (it starts one). */
export function userCommands(deps: BotDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.command('start', async (ctx) => {
    await ctx.reply(t(langOf(ctx)).start);
  });

  composer.command('help', async (ctx) => {
    await ctx.reply(t(langOf(ctx)).help);
  });

  composer.command('new', async (ctx) => {
    await ctx.conversation.enter(ORDER);
  });

  composer.command('settings', async (ctx) => {
    const m = t(langOf(ctx));
    const saved = ctx.from ? await deps.store.getDefaults(ctx.from.id) : null;
    await ctx.reply(saved ? m.settingsShow(summaryText(m, null, saved)) : m.settingsNone, { reply_markup: settingsKeyboard(m) });
  });

  composer.callbackQuery(CB.editSettings, async (ctx) => {
    await answerCallback(ctx, deps.log);
    await ctx.conversation.enter(SETTINGS);
  });

  composer.command('status', async (ctx) => {
    const m = t(langOf(ctx));
    const ids = ctx.from ? await deps.store.userJobs(ctx.from.id) : [];
    const lines: string[] = [];
    for (const id of ids) {
      const job = (await deps.pipeline.queue.getJob(id)) as RenderJob | undefined;
      const state = job ? await job.getState() : 'unknown';
      const known = (['waiting', 'active', 'delayed', 'completed', 'failed'] as const).find((s) => s === state) ?? (state === 'prioritized' || state === 'waiting-children' ? 'waiting' : 'unknown');
      let line = `• ${job?.timestamp ? new Date(job.timestamp).toISOString().slice(0, 16).replace('T', ' ') : id} — ${m.jobState[known]}`;
      const p = parseProgress(job?.progress);
      if (known === 'active' && p) line += ` (${m.stage[p.stage]}, ${Math.floor(p.percent)}%)`;
      const failure = job && known === 'failed' ? failureOfJob(job) : null;
      if (failure) line += `: ${failureText(failure.code, langOf(ctx))}`;
      lines.push(line);
    }
    // Ten jobs with failure texts fit today; split anyway, the list grows with the texts.
    await sendParts(lines.length ? packBlocks([m.jobsTitle, ...lines]) : [m.noJobs], (text) => ctx.reply(text));
  });

  // "Try again" under a failure: the same job again (it resumes after its last finished stage), unless the input
  // itself was the problem — then only a different video helps.
  composer.callbackQuery(TRY_AGAIN_RE, async (ctx) => {
    const m = t(langOf(ctx));
    const jobId = ctx.match[1]!;
    const job = (await deps.pipeline.queue.getJob(jobId)) as RenderJob | undefined;
    if (!job) return void (await answerCallback(ctx, deps.log, { text: m.buttonExpired }));
    if (job.data.userId !== ctx.from.id) return void (await answerCallback(ctx, deps.log, { text: m.notYourJob }));
    const failure = failureOfJob(job);
    if (failure?.category === 'media' || failure?.code === 'telegram_file_too_big' || failure?.code === 'input_unavailable') {
      await answerCallback(ctx, deps.log);
      await ctx.reply(m.retrySendNew);
      return;
    }
    const outcome = await retryJob(deps.pipeline, jobId);
    // The retry is what matters; an answer Telegram refuses (a press that is too old) must not hide it.
    await answerCallback(ctx, deps.log, outcome === 'retried' ? {} : { text: m.alreadyQueued });
    if (outcome !== 'retried') return;
    await deps.store.forgetStatusText(jobId);
    await deps.status.show(jobId, (l) => t(l).retryQueued);
  });

  // A video outside a dialogue starts one with it (after the limit checks, so an oversized file is refused at once).
  composer.on(['message:video', 'message:video_note', 'message:animation', 'message:document'], async (ctx, next) => {
    const a = acceptVideo(ctx.message);
    if (!a.ok) return next();
    const problem = limitProblem(a.video.ref, deps.limits, t(langOf(ctx)));
    if (problem) return void (await ctx.reply(problem));
    await ctx.conversation.enter(ORDER, a.video);
  });

  return composer;
}
