/**
 * The recording peer's memory of what the bot sent (bot/test-support.ts): every message with the id the peer gave
 * it, its current text and its current buttons. Tests ask it for real message ids ("the newest message in this chat
 * showing the Confirm button") instead of counting sends to guess them.
 */

/** A message the bot sent, as it stands now (edits applied). */
export interface BotMessage {
  chatId: number;
  messageId: number;
  /** sendMessage or sendPhoto. */
  method: string;
  /** The text, or the caption of a photo. */
  text: string;
  /** callback_data of its current inline keyboard, row after row; [] when it has none. */
  buttons: string[];
}

type Markup = { inline_keyboard?: Array<Array<{ callback_data?: string }>> } | undefined;

const buttonsOf = (markup: Markup): string[] =>
  (markup?.inline_keyboard ?? []).flat().flatMap((b) => (b.callback_data === undefined ? [] : [b.callback_data]));

export function createChatLog() {
  const messages: BotMessage[] = [];
  const lastId = new Map<number, number>();
  const inChat = (chatId: number) => messages.filter((m) => m.chatId === chatId);
  const describe = (chatId: number) => inChat(chatId).map((m) => `${m.messageId} ${JSON.stringify(m.text.slice(0, 30))} [${m.buttons.join(', ')}]`).join('; ') || 'none';

  return {
    messages,
    inChat,
    /** Records a sent message under the next id of its chat (Telegram numbers messages per chat). */
    add(chatId: number, method: string, text: string, markup: Markup): BotMessage {
      const messageId = (lastId.get(chatId) ?? 1000) + 1;
      lastId.set(chatId, messageId);
      const message = { chatId, messageId, method, text, buttons: buttonsOf(markup) };
      messages.push(message);
      return message;
    },
    /** Applies an edit. As in Telegram, an edit without reply_markup leaves the message without buttons. */
    edit(chatId: number, messageId: number, change: { text?: string; markup: Markup }): void {
      const message = messages.find((m) => m.chatId === chatId && m.messageId === messageId);
      if (!message) return;
      if (change.text !== undefined) message.text = change.text;
      message.buttons = buttonsOf(change.markup);
    },
    /** The newest message in the chat; throws when the bot sent none. */
    last(chatId: number): BotMessage {
      const message = inChat(chatId).at(-1);
      if (!message) throw new Error(`the bot sent nothing to chat ${chatId}`);
      return message;
    },
    /** The newest message in the chat that shows button `data` now; throws naming what the chat has instead. */
    withButton(chatId: number, data: string): BotMessage {
      const message = inChat(chatId).findLast((m) => m.buttons.includes(data));
      if (!message) throw new Error(`no message in chat ${chatId} shows button ${data}; messages: ${describe(chatId)}`);
      return message;
    },
  };
}

export type ChatLog = ReturnType<typeof createChatLog>;
