import type { FlowContext, FlowConversation } from '../context.js';
import type { BotDeps } from '../deps.js';
import { langOf, t } from '../i18n/index.js';
import { DEFAULT_OPTIONS, OPTION_FIELDS } from './options.js';
import { pickOptions, RESTART } from './steps.js';
import { summaryText } from './summary.js';

/** /settings → "Change defaults": every option asked in turn, then saved as the user's "same as last time". */
export const SETTINGS = 'settings';

export function createSettingsConversation(deps: BotDeps) {
  return async function settings(conversation: FlowConversation, ctx: FlowContext): Promise<void> {
    const m = t(langOf(ctx));
    const userId = ctx.from!.id;
    const current = (await conversation.external(() => deps.store.getDefaults(userId))) ?? DEFAULT_OPTIONS;
    const chosen = await pickOptions(conversation, deps.log, ctx, m, OPTION_FIELDS, current, (o) => summaryText(m, null, o));
    // /new while editing defaults: leave this dialogue; the next video starts an order from outside.
    if (chosen === RESTART) return void (await ctx.api.sendMessage(ctx.chat!.id, m.askHead));
    await conversation.external(() => deps.store.setDefaults(userId, chosen));
    await ctx.api.sendMessage(ctx.chat!.id, m.settingsSaved(summaryText(m, null, chosen)));
  };
}
