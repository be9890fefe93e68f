import { Composer } from 'grammy';
import { answerCallback, bestEffort } from '../../common/telegram/best-effort.js';
import { approveResend, RESEND_CALLBACK_RE, type ResendOutcome } from '../../pipeline/contract.js';
import type { BotContext } from '../context.js';
import type { BotDeps } from '../deps.js';
import { langOf, t, type Messages } from '../i18n/index.js';

/**
 * «Send again» under the worker's "your result may already be in this chat" question (a send whose outcome is
 * unknown: pipeline/worker/delivery-claim.ts). Only the job's own user may press it — as with "try again", the
 * job's user is checked here, because the worker's question has no recorded menu owner (ownership.ts). A press
 * approves one more send: the job runs again from its stored stages and only delivers. Any number of presses send
 * once; the toast says what happened.
 */
export function resendButton(deps: BotDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.callbackQuery(RESEND_CALLBACK_RE, async (ctx) => {
    const m = t(langOf(ctx));
    const jobId = ctx.match[1]!;
    const outcome = await approveResend(deps.pipeline, jobId, ctx.from.id);
    deps.log.info({ jobId, userId: ctx.from.id, outcome }, '«Send again» pressed');
    await answerCallback(ctx, deps.log, { text: answerFor(m, outcome) });
    if (outcome !== 'approved') return;
    // The question is answered: its button goes; the job's status message follows the new run.
    await bestEffort(deps.log, 'editMessageReplyMarkup', () => ctx.editMessageReplyMarkup());
    await deps.store.forgetStatusText(jobId);
    await deps.status.show(jobId, (l) => t(l).resendQueued);
  });

  return composer;
}

function answerFor(m: Messages, outcome: ResendOutcome): string {
  switch (outcome) {
    case 'approved':
      return m.resendQueued;
    case 'already':
      return m.resendAlready;
    case 'delivered':
      return m.resendDelivered;
    case 'busy':
      return m.resendBusy;
    case 'not_yours':
      return m.notYourJob;
    case 'expired':
      return m.buttonExpired;
  }
}
