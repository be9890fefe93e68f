import type { Conversation, ConversationFlavor } from '@grammyjs/conversations';
import type { Context } from 'grammy';

/** The context of the outside middleware tree (conversation controls on it). */
export type BotContext = ConversationFlavor<Context>;
/** The context inside conversations (rebuilt on every replay; it never passes the outside middleware). */
export type FlowContext = Context;
export type FlowConversation = Conversation<BotContext, FlowContext>;

/** `/cmd` or `/cmd@bot` at the start of a text message → `cmd` (lower case); otherwise null. */
export function commandOf(ctx: Pick<Context, 'message'>): string | null {
  const text = ctx.message?.text;
  const m = text ? /^\/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s|$)/.exec(text) : null;
  return m ? m[1]!.toLowerCase() : null;
}
