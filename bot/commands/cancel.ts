import { Composer } from 'grammy';
import { activeJobsOf, cancelJob } from '../../pipeline/contract.js';
import type { BotContext } from '../context.js';
import type { BotDeps } from '../deps.js';
import { langOf, t } from '../i18n/index.js';

/**
 * /cancel: leaves any dialogue and cancels the user's queued or running jobs. Installed after the conversations
 * plugin (which gives ctx.conversation) but BEFORE createConversation, or an active dialogue would receive /cancel
 * as just another message.
 */
export function cancelCommand(deps: BotDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  composer.command('cancel', async (ctx) => {
    const m = t(langOf(ctx));
    const inDialogue = Object.keys(ctx.conversation.active()).length > 0;
    await ctx.conversation.exitAll();
    let cancelled = 0;
    if (ctx.from) {
      const jobs = await activeJobsOf(deps.pipeline.queue, ctx.from.id);
      for (const job of jobs) {
        const outcome = await cancelJob(deps.pipeline, job.id!);
        if (outcome === 'removed' || outcome === 'cancelling') cancelled++;
        // A running job reports its own end (failed: cancelled); a queued one is simply gone, so say it here.
        if (outcome === 'removed') await deps.status.show(job.id!, (l) => t(l).statusCancelled, undefined, true);
      }
    }
    await ctx.reply(cancelled ? m.cancelledJobs(cancelled) : inDialogue ? m.cancelledDialog : m.nothingToCancel);
  });
  return composer;
}
