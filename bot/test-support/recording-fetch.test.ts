import { Api } from 'grammy';
import { describe, expect, it } from 'vitest';
import { recordingFetch } from './recording-fetch.js';

/** The recording peer answers what tests ask about the bot's messages with the ids it really gave them. */
describe('recordingFetch: real message ids for tests', () => {
  const kb = (...data: string[]) => ({ inline_keyboard: [data.map((d) => ({ text: d, callback_data: d }))] });

  it('numbers messages per chat, and finds the newest message showing a button as edits left it', async () => {
    const wire = recordingFetch();
    const api = new Api('1:x', { fetch: wire.fetch });
    const ask = await api.sendMessage(7, 'ask', { reply_markup: kb('yes', 'no') });
    await api.sendMessage(8, 'elsewhere');
    const menu = await api.sendMessage(7, 'menu', { reply_markup: kb('yes') });
    expect(wire.sentTo(7).map((m) => [m.messageId, m.text, m.buttons])).toEqual([
      [ask.message_id, 'ask', ['yes', 'no']],
      [menu.message_id, 'menu', ['yes']],
    ]);
    expect(wire.lastIn(8).messageId).toBe(ask.message_id); // each chat has its own numbering: both are a chat's first
    expect(wire.withButton(7, 'yes').messageId).toBe(menu.message_id);
    // An edit without reply_markup removes the buttons, as Telegram does; so does editMessageReplyMarkup without one.
    await api.editMessageText(7, menu.message_id, 'menu, answered');
    expect(wire.withButton(7, 'yes').messageId).toBe(ask.message_id);
    await api.editMessageReplyMarkup(7, ask.message_id, { reply_markup: undefined });
    expect(() => wire.withButton(7, 'yes')).toThrow(/no message in chat 7 shows button yes; messages: \d+ "ask" \[\]; \d+ "menu, answered" \[\]/);
  });

  it('press() builds the callback update on the real message, in a group when the chat is one', async () => {
    const wire = recordingFetch();
    const api = new Api('1:x', { fetch: wire.fetch });
    const group = -100_200;
    await api.sendMessage(group, 'pad');
    const menu = await api.sendMessage(group, 'menu', { reply_markup: kb('go') });
    const update = wire.press({ id: 55, lang: 'ru' }, 'go', group);
    expect(update.callback_query).toMatchObject({ data: 'go', from: { id: 55, language_code: 'ru' }, message: { message_id: menu.message_id, chat: { id: group, type: 'supergroup' } } });
    const mine = await api.sendMessage(55, 'private', { reply_markup: kb('go') });
    expect(wire.press({ id: 55 }, 'go').callback_query).toMatchObject({ message: { message_id: mine.message_id, chat: { id: 55, type: 'private' } } });
  });
});
