import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RegisteredFile, UserMessageInput } from '../testing/fake-telegram.js';
import { OPTIONS, type OptionField } from '../bot/flow/options.js';
import { RESULT_METHODS, tallyChat, texts, waitChat } from './chat.js';
import type { ChatView } from './fake-telegram-main.js';
import type { LoadMedia } from './media.js';
import type { Rng } from './random.js';
import type { RpcClient } from './rpc.js';

/**
 * Simulated users: each goes through the real dialogue in its own private chat — sends a head video, a background
 * (or picks "no background"), answers the option questions with random values, sometimes asks to change them, and
 * confirms. Some cancel (in the dialogue, or their running job), some send files from media/bad/, some double-tap
 * Confirm. They read only what the bot shows in the chat, through the fake Bot API.
 */
export type UserKind = 'normal' | 'double-confirm' | 'cancel-dialog' | 'cancel-job' | 'bad';

export interface UserRecord {
  chatId: number;
  kind: UserKind;
  head: string;
  /** How the dialogue ended. */
  dialogue: 'confirmed' | 'cancelled' | 'refused' | 'stuck';
  note?: string;
  confirmAt?: number;
  /** The summary message whose Confirm the user pressed. */
  confirmedOn?: number;
  /** Confirm → each result file, as the user saw it arrive. */
  latencyMs: number[];
  resendPressed: number;
  /** The user stopped waiting (run deadline or its own timeout) with jobs unanswered. */
  gaveUp: boolean;
}

export interface UserContext {
  tg: RpcClient;
  media: LoadMedia;
  rng: Rng;
  /** When the user stops waiting for an answer. */
  deadline: number;
  stepTimeoutMs: number;
  /** The engines this user may pick. */
  engines: readonly string[];
}

type Step =
  | { kind: 'bg'; id: number }
  | { kind: 'same'; id: number }
  | { kind: 'opt'; id: number; field: OptionField }
  | { kind: 'summary'; id: number }
  | { kind: 'refused'; text: string };

const keyOf = (m: ChatView['bot'][number]) => `${m.id}|${m.history.length}|${m.buttons.join(',')}`;

/** The newest bot message with buttons the user has not acted on yet, or a refusal the bot left without buttons. */
function nextStep(v: ChatView, handled: Set<string>, quiet: { since: number; key: string; ids: Set<number> }): Step | undefined {
  const live = v.bot.filter((m) => !m.deleted);
  const withButtons = live.filter((m) => m.buttons.length > 0).at(-1);
  if (withButtons && !handled.has(keyOf(withButtons))) {
    const b = withButtons.buttons[0]!;
    if (b.startsWith('bg:')) return { kind: 'bg', id: withButtons.id };
    if (b.startsWith('same:')) return { kind: 'same', id: withButtons.id };
    if (withButtons.buttons.includes('sum:confirm')) return { kind: 'summary', id: withButtons.id };
    const opt = /^opt:([a-z]+):/.exec(b);
    if (opt) return { kind: 'opt', id: withButtons.id, field: opt[1] as OptionField };
  }
  // The bot answered without buttons and nothing else came for a while: it refused what the user sent.
  const newest = live.at(-1);
  // (Not a message the user already acted on — the option picker ends as a plain summary — nor the /start greeting.)
  if (!newest || newest.buttons.length > 0 || quiet.ids.has(newest.id) || newest.text === texts.start) return undefined;
  const key = keyOf(newest);
  if (quiet.key !== key) Object.assign(quiet, { key, since: Date.now() });
  return Date.now() - quiet.since > 10_000 ? { kind: 'refused', text: newest.text } : undefined;
}

const valuesOf = (ctx: UserContext, field: OptionField): readonly string[] =>
  field === 'engine' ? OPTIONS.engine.values.filter((e) => ctx.engines.includes(e)) : OPTIONS[field].values;

async function send(ctx: UserContext, chatId: number, input: Omit<UserMessageInput, 'chatId' | 'from'>): Promise<void> {
  await ctx.tg.call('pushUserMessage', { chatId, from: { id: chatId, language_code: 'en' }, ...input });
}

const press = (ctx: UserContext, chatId: number, messageId: number, data: string) =>
  ctx.tg.call('pushCallbackQuery', { chatId, messageId, data, from: { id: chatId, language_code: 'en' } });

async function sendFile(ctx: UserContext, chatId: number, path: string, as: 'video' | 'document'): Promise<void> {
  const file = await ctx.tg.call<RegisteredFile>('registerFile', path, basename(path));
  await send(ctx, chatId, { [as]: file });
}

async function onBackground(ctx: UserContext, u: UserRecord, step: { id: number }): Promise<void> {
  const r = ctx.rng.next();
  if (r < 0.6) return sendFile(ctx, u.chatId, ctx.rng.pick(ctx.media.backgrounds), ctx.rng.chance(0.7) ? 'video' : 'document');
  await press(ctx, u.chatId, step.id, r < 0.8 ? 'bg:note' : r < 0.93 ? 'bg:overlay' : 'bg:both');
}

async function onSummary(ctx: UserContext, u: UserRecord, step: { id: number }, changed: { done: boolean }): Promise<boolean> {
  if (!changed.done && ctx.rng.chance(0.15)) {
    changed.done = true;
    await press(ctx, u.chatId, step.id, 'sum:change');
    return false;
  }
  u.confirmAt = Date.now();
  u.confirmedOn = step.id;
  await press(ctx, u.chatId, step.id, 'sum:confirm');
  // A double tap: the second press arrives before the bot has answered the first.
  if (u.kind === 'double-confirm') await press(ctx, u.chatId, step.id, 'sum:confirm');
  return true;
}

/** Drives the dialogue to Confirm; returns how it ended. */
async function dialogue(ctx: UserContext, u: UserRecord): Promise<UserRecord['dialogue']> {
  const handled = new Set<string>();
  const quiet = { since: 0, key: '', ids: new Set<number>() };
  const changed = { done: false };
  const cancelAt = u.kind === 'cancel-dialog' ? ctx.rng.int(1, 3) : -1;
  for (let i = 0; i < 20; i++) {
    const step = await waitChat(ctx.tg, u.chatId, (v) => nextStep(v, handled, quiet), ctx.stepTimeoutMs, `dialogue step ${i}`);
    if (step.kind === 'refused') {
      u.note = step.text.slice(0, 120);
      return 'refused';
    }
    const v = await ctx.tg.call<ChatView>('chatView', u.chatId);
    v.bot.filter((m) => m.id === step.id).forEach((m) => handled.add(keyOf(m)));
    quiet.ids.add(step.id);
    if (i === cancelAt) {
      await send(ctx, u.chatId, { text: '/cancel' });
      await waitChat(ctx.tg, u.chatId, (w) => (w.sent.some((m) => m.text === texts.cancelledDialog) ? true : undefined), ctx.stepTimeoutMs, 'cancel answer');
      return 'cancelled';
    }
    await sleep(ctx.rng.int(100, 600)); // a person reads before tapping
    if (step.kind === 'bg') await onBackground(ctx, u, step);
    else if (step.kind === 'same') await press(ctx, u.chatId, step.id, ctx.rng.pick(['same:yes', 'same:no']));
    else if (step.kind === 'opt') await press(ctx, u.chatId, step.id, `opt:${step.field}:${ctx.rng.pick(valuesOf(ctx, step.field))}`);
    else if (await onSummary(ctx, u, step, changed)) return 'confirmed';
  }
  return 'stuck';
}

/** Waits until every job the bot queued for this chat is answered; presses «Send again» when asked and nothing came. */
async function awaitAnswers(ctx: UserContext, u: UserRecord): Promise<void> {
  const seen = new Set<number>();
  if (u.kind === 'cancel-job') {
    await sleep(ctx.rng.int(500, 4000));
    await send(ctx, u.chatId, { text: '/cancel' });
  }
  for (;;) {
    const v = await ctx.tg.call<ChatView>('chatView', u.chatId).catch(() => null);
    if (v) {
      for (const f of v.files.filter((x) => RESULT_METHODS.has(x.method) && !seen.has(x.messageId))) {
        seen.add(f.messageId);
        u.latencyMs.push(Date.now() - u.confirmAt!);
      }
      const tally = tallyChat(v, u.confirmedOn);
      const settled = tally.queued > 0 ? tally.unanswered === 0 : tally.failures.length > 0;
      // Give a late second status (bg:both) or a duplicate a moment to show before leaving.
      if (settled && Date.now() - u.confirmAt! > 3000) return;
      const resend = v.bot.find((m) => !m.deleted && m.buttons.some((b) => b.startsWith('resend:')));
      if (resend && tally.results < tally.queued && u.resendPressed === 0) {
        u.resendPressed++;
        await press(ctx, u.chatId, resend.id, resend.buttons.find((b) => b.startsWith('resend:'))!);
      }
    }
    if (Date.now() > ctx.deadline) return void (u.gaveUp = true);
    await sleep(400);
  }
}

export async function runUser(ctx: UserContext, chatId: number, kind: UserKind): Promise<UserRecord> {
  const bad = kind === 'bad';
  const head = bad ? ctx.rng.pick(ctx.media.bad) : ctx.rng.pick(ctx.media.heads);
  const u: UserRecord = { chatId, kind, head: basename(head), dialogue: 'stuck', latencyMs: [], resendPressed: 0, gaveUp: false };
  try {
    if (ctx.rng.chance(0.3)) await send(ctx, chatId, { text: '/start' });
    await sendFile(ctx, chatId, head, bad && ctx.rng.chance(0.5) ? 'document' : 'video');
    u.dialogue = await dialogue(ctx, u);
    if (u.dialogue === 'confirmed') await awaitAnswers(ctx, u);
  } catch (e) {
    u.note = (e as Error).message;
  }
  return u;
}

/** The mix of kinds: mostly plain users, a few of each kind of trouble. */
export function userKinds(n: number, rng: Rng): UserKind[] {
  const special: UserKind[] = ['double-confirm', 'bad', 'cancel-job', 'cancel-dialog'];
  return Array.from({ length: n }, (_, i) => (i < special.length && n >= 3 ? special[i]! : rng.chance(0.75) ? 'normal' : rng.pick(special)));
}
