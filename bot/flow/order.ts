import { InputFile } from 'grammy';
import { isMediaFailureCode } from '../../pipeline/failures.js';
import {
  EnqueueRefusedError,
  enqueueJob,
  failureText,
  jobIdFor,
  type FailureCode,
  type Language,
  type OutputKind,
  type TelegramInputRef,
} from '../../pipeline/contract.js';
import type { FlowContext, FlowConversation } from '../context.js';
import type { BotDeps } from '../deps.js';
import { langOf, t } from '../i18n/index.js';
import type { Messages } from '../i18n/types.js';
import { acceptVideo, type VideoInput } from '../media/accept.js';
import { limitProblem } from '../media/limits.js';
import type { PreviewOutcome } from '../preview/preview-service.js';
import { CB } from './callbacks.js';
import { backgroundKeyboard, sameKeyboard, summaryKeyboard } from './keyboards.js';
import { DEFAULT_OPTIONS, fieldsFor, type ChosenOptions } from './options.js';
import { answer, answerStale, bestEffort, pickOptions, removeKeyboard, RESTART, waitForStep, type Restart } from './steps.js';
import { summaryText, withTitle } from './summary.js';

/**
 * The main dialogue: head video → background (or "no background") → options (or "same as last time") → summary
 * with a preview photo → Confirm (one job) / Change. Entered by /new or by sending a video (then `first` is it).
 */
export const ORDER = 'order';

/** "No background" may ask for the transparent file, the round note, or both (two jobs from one order). */
type Background = { outputs: ['video']; video: VideoInput } | { outputs: Array<'overlay' | 'note'>; video: null };

const NO_BACKGROUND: Record<string, Array<'overlay' | 'note'>> = {
  [CB.noBgOverlay]: ['overlay'],
  [CB.noBgNote]: ['note'],
  [CB.noBgBoth]: ['overlay', 'note'],
};

export function createOrderConversation(deps: BotDeps) {
  return async function order(conversation: FlowConversation, ctx: FlowContext, first?: VideoInput): Promise<void> {
    const m = t(langOf(ctx));
    let head: VideoInput | null = first ?? null;
    for (;;) {
      const outcome = await runOrder(conversation, ctx, deps, m, head);
      if (outcome !== RESTART) return;
      head = null;
    }
  };
}

/** Accepts a usable video from `c`, or explains (limits in numbers, or what arrived instead) and returns undefined. */
async function videoFrom(conversation: FlowConversation, c: FlowContext, deps: BotDeps, m: Messages): Promise<VideoInput | undefined> {
  if (c.callbackQuery) return void (await answerStale(conversation, deps.log, c, m));
  if (!c.message) return undefined;
  const a = acceptVideo(c.message);
  if (!a.ok) return void (await c.reply(m.notAVideo(m.what[a.what])));
  const problem = limitProblem(a.video.ref, deps.limits, m);
  if (problem) return void (await c.reply(problem));
  return a.video;
}

async function runOrder(
  conversation: FlowConversation,
  ctx: FlowContext,
  deps: BotDeps,
  m: Messages,
  firstHead: VideoInput | null,
): Promise<void | Restart> {
  const chatId = ctx.chat!.id;
  const userId = ctx.from!.id;

  // 1. The speaker.
  const head = firstHead ?? (await askHead(conversation, ctx, deps, m));
  if (head === RESTART) return RESTART;
  // 2. The main video, or no background.
  const bg = await askBackground(conversation, ctx, deps, m);
  if (bg === RESTART) return RESTART;
  const outputs: OutputKind[] = bg.outputs;
  const fields = fieldsFor(outputs);
  const describe = (o: ChosenOptions) => summaryText(m, outputs, o);

  // 3. Options: the user's defaults offered first.
  const saved = await conversation.external(() => deps.store.getDefaults(userId));
  let options: ChosenOptions | null = null;
  if (saved) {
    const same = await askSame(conversation, ctx, deps, m, describe(saved));
    if (same === RESTART) return RESTART;
    if (same) options = saved;
  }

  const previewKey = `${chatId}-${head.messageId}`;
  try {
    for (;;) {
      if (!options) {
        const picked = await pickOptions(conversation, deps.log, ctx, m, fields, saved ?? DEFAULT_OPTIONS, describe);
        if (picked === RESTART) return RESTART;
        options = picked;
      }
      // 4. Summary, with a preview photo of one composed frame when it can be made.
      const summaryId = await sendSummary(conversation, ctx, deps, m, {
        previewKey,
        head: head.ref,
        background: bg.video?.ref ?? null,
        output: outputs[0]!,
        options,
        summary: `${m.summaryTitle}\n\n${describe(options)}`,
      });
      const choice = await askConfirm(conversation, deps, m, chatId, summaryId);
      if (choice === RESTART) return RESTART;
      if (choice === CB.change) {
        options = null;
        continue;
      }
      // 5. The jobs.
      return await enqueueOrder(conversation, ctx, deps, m, { summaryId, head, background: bg.video, outputs, options });
    }
  } finally {
    // Runs on the real pass only when the dialogue ends (a replay that stops at a wait never gets here).
    await conversation.external(() => deps.preview?.cleanup(previewKey));
  }
}

async function askHead(conversation: FlowConversation, ctx: FlowContext, deps: BotDeps, m: Messages): Promise<VideoInput | Restart> {
  await ctx.api.sendMessage(ctx.chat!.id, m.askHead);
  return waitForStep(conversation, m, (c) => videoFrom(conversation, c, deps, m));
}

async function askBackground(conversation: FlowConversation, ctx: FlowContext, deps: BotDeps, m: Messages): Promise<Background | Restart> {
  const chatId = ctx.chat!.id;
  const bgMsg = await ctx.api.sendMessage(chatId, m.askBackground, { reply_markup: backgroundKeyboard(m) });
  const bg = await waitForStep<Background>(conversation, m, async (c) => {
    const data = c.callbackQuery?.data;
    const none = data ? NO_BACKGROUND[data] : undefined;
    if (none) {
      await answer(conversation, deps.log, c);
      return { outputs: none, video: null };
    }
    const v = await videoFrom(conversation, c, deps, m);
    return v ? { outputs: ['video'], video: v } : undefined;
  });
  if (bg === RESTART) return RESTART;
  await removeKeyboard(conversation, deps.log, chatId, bgMsg.message_id);
  return bg;
}

/** "Same as last time?" with the saved options described: true = same, false = choose again. */
async function askSame(conversation: FlowConversation, ctx: FlowContext, deps: BotDeps, m: Messages, described: string): Promise<boolean | Restart> {
  const chatId = ctx.chat!.id;
  const ask = await ctx.api.sendMessage(chatId, m.askSame(described), { reply_markup: sameKeyboard(m) });
  const same = await waitForStep(conversation, m, async (c) => {
    const data = c.callbackQuery?.data;
    if (data !== CB.same && data !== CB.choose) {
      if (c.callbackQuery) await answerStale(conversation, deps.log, c, m);
      else if (c.message) await c.reply(m.askSame(described), { reply_markup: sameKeyboard(m) });
      return undefined;
    }
    await answer(conversation, deps.log, c);
    return data === CB.same;
  });
  if (same === RESTART) return RESTART;
  await removeKeyboard(conversation, deps.log, chatId, ask.message_id);
  return same;
}

/** Confirm or Change on the summary `summaryId`; its keyboard is removed once answered. */
async function askConfirm(conversation: FlowConversation, deps: BotDeps, m: Messages, chatId: number, summaryId: number): Promise<string | Restart> {
  const choice = await waitForStep(conversation, m, async (c) => {
    const data = c.callbackQuery?.data;
    // Any Confirm/Change button of this step counts (a message sent meanwhile gets the buttons again below);
    // older summaries lost theirs when they were answered.
    if (data === CB.confirm || data === CB.change) {
      await answer(conversation, deps.log, c);
      return data;
    }
    if (c.callbackQuery) await answerStale(conversation, deps.log, c, m);
    else if (c.message) await c.reply(m.summaryTitle, { reply_markup: summaryKeyboard(m) });
    return undefined;
  });
  if (choice === RESTART) return RESTART;
  await removeKeyboard(conversation, deps.log, chatId, summaryId);
  return choice;
}

interface ConfirmedOrder {
  summaryId: number;
  head: VideoInput;
  background: VideoInput | null;
  outputs: OutputKind[];
  options: ChosenOptions;
}

/**
 * One job per confirmed summary and output: ids come from the summary message, so a repeated Confirm (or a
 * re-delivered update) adds nothing. Each new job gets its status message; a refusal is said and ends the order.
 */
async function enqueueOrder(conversation: FlowConversation, ctx: FlowContext, deps: BotDeps, m: Messages, o: ConfirmedOrder): Promise<void> {
  const chatId = ctx.chat!.id;
  const lang = langOf(ctx);
  const base = jobIdFor(chatId, o.summaryId);
  for (const output of o.outputs) {
    const jobId = o.outputs.length > 1 ? `${base}-${output}` : base;
    const queued = await conversation.external(() => enqueueOne(ctx, deps, o, output, jobId));
    if ('refused' in queued) {
      await ctx.api.sendMessage(chatId, failureText(queued.refused, lang));
      return;
    }
    if (!queued.created) {
      await ctx.api.sendMessage(chatId, m.alreadyQueued);
      continue;
    }
    // With two results, each status message says which one it is about.
    const title = o.outputs.length > 1 ? m.output[output] : undefined;
    const status = await ctx.api.sendMessage(chatId, withTitle(title, m.queued));
    await conversation.external(async () => {
      await deps.store.setStatus(jobId, { chatId, messageId: status.message_id, lang, ...(title ? { title } : {}) });
      await deps.store.claimStatusText(jobId, withTitle(title, m.queued));
    });
  }
}

/** Enqueues one output's job (run inside `conversation.external`: real effects, replayed from its result). */
async function enqueueOne(
  ctx: FlowContext,
  deps: BotDeps,
  o: ConfirmedOrder,
  output: OutputKind,
  jobId: string,
): Promise<{ created: boolean } | { refused: FailureCode }> {
  const chatId = ctx.chat!.id;
  const userId = ctx.from!.id;
  try {
    const r = await enqueueJob(
      deps.pipeline.queue,
      {
        chatId,
        userId,
        messageId: o.head.messageId,
        language: langOf(ctx),
        head: o.head.ref,
        background: o.background?.ref ?? null,
        output,
        options: o.options,
        failureNotice: 'bot',
      },
      { jobId, limits: deps.limits, maxActivePerUser: deps.maxActivePerUser, jobOptions: deps.jobOptions },
    );
    if (r.created) {
      await deps.store.addUserJob(userId, jobId);
      await deps.store.setDefaults(userId, o.options);
    }
    deps.log.info({ jobId, created: r.created, output, chatId }, 'job enqueued');
    return { created: r.created };
  } catch (e) {
    if (e instanceof EnqueueRefusedError) return { refused: e.failure.code };
    throw e;
  }
}

interface SummaryRequest {
  previewKey: string;
  head: TelegramInputRef;
  background: TelegramInputRef | null;
  output: OutputKind;
  options: ChosenOptions;
  summary: string;
}

/** Sends the preview photo captioned with the summary (or, without a preview, the summary as text); returns its id. */
async function sendSummary(conversation: FlowConversation, ctx: FlowContext, deps: BotDeps, m: Messages, r: SummaryRequest): Promise<number> {
  const chatId = ctx.chat!.id;
  const keyboard = summaryKeyboard(m);
  if (deps.preview) {
    const preview = deps.preview;
    await bestEffort(conversation, deps.log, 'sendChatAction', (api) => api.sendChatAction(chatId, 'upload_photo'));
    const made = await conversation.external(
      (): Promise<PreviewOutcome> => preview.make({ key: r.previewKey, head: r.head, background: r.background, output: r.output, options: r.options }),
    );
    if (made.ok) {
      // Sent from outside the replay log: the JPEG exists only on this pass, and a failed upload falls back to text.
      const photoId = await conversation.external(async (outside) => {
        try {
          const msg = await outside.api.sendPhoto(chatId, new InputFile(made.path), {
            caption: `${r.summary}\n\n${m.previewCaption}`,
            reply_markup: keyboard,
          });
          return msg.message_id;
        } catch (e) {
          deps.log.warn({ err: (e as Error).message }, 'preview upload failed');
          return null;
        }
      });
      if (photoId !== null) return photoId;
    } else {
      await ctx.api.sendMessage(chatId, previewFailureText(made, m, langOf(ctx)));
    }
  }
  return (await ctx.api.sendMessage(chatId, r.summary, { reply_markup: keyboard })).message_id;
}

/** Why there is no preview: no person, a file the worker would refuse too (its own words), or a generic hiccup. */
function previewFailureText(made: Extract<PreviewOutcome, { ok: false }>, m: Messages, lang: Language): string {
  if (made.reason === 'no_person') return m.previewNoPerson;
  if (made.mediaCode && isMediaFailureCode(made.mediaCode)) return failureText(made.mediaCode, lang);
  return m.previewFailed;
}
