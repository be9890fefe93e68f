import type { Message, Update } from 'grammy/types';
import type { FakeState } from './state.js';
import type { CallbackQueryInput, FakeTelegram } from './types.js';

/**
 * Questions a test asks about what the bot shows, answered with the real messages (and so the real ids the fake
 * gave them): tests find "the bot's newest message here" or "the message showing this button" instead of counting.
 */
export type MessageQueries = Pick<FakeTelegram, 'lastBotMessage' | 'messageWithButton' | 'pressButton'>;

const buttonsOf = (m: Message): string[] =>
  ((m.reply_markup as { inline_keyboard?: Array<Array<{ callback_data?: string }>> } | undefined)?.inline_keyboard ?? [])
    .flat()
    .flatMap((b) => (b.callback_data === undefined ? [] : [b.callback_data]));

export function createMessageQueries(s: FakeState, pushCallbackQuery: (input: CallbackQueryInput) => Update): MessageQueries {
  /** The bot's live (not deleted) messages in a chat, oldest first. */
  const botMessages = (chatId: number) =>
    s.chats
      .all(chatId)
      .filter((m) => !m.deleted && m.message.from?.id === s.bot.id)
      .map((m) => m.message)
      .sort((a, b) => a.message_id - b.message_id);

  const messageWithButton = (chatId: number, data: string) => botMessages(chatId).findLast((m) => buttonsOf(m).includes(data));

  return {
    lastBotMessage: (chatId) => botMessages(chatId).at(-1),
    messageWithButton,
    pressButton(input) {
      const message = messageWithButton(input.chatId, input.data);
      if (!message) {
        const shown = botMessages(input.chatId).map((m) => `${m.message_id} [${buttonsOf(m).join(', ')}]`);
        throw new Error(`pressButton: no message in chat ${input.chatId} shows ${input.data}; bot messages: ${shown.join('; ') || 'none'}`);
      }
      return pushCallbackQuery({ ...input, messageId: message.message_id });
    },
  };
}
