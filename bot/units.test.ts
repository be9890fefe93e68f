import type { Message } from 'grammy/types';
import { describe, expect, it } from 'vitest';
import { parseOption } from './flow/callbacks.js';
import { optionKeyboard } from './flow/keyboards.js';
import { DEFAULT_OPTIONS, fieldsFor, OPTION_FIELDS, parseOptions, type OptionField } from './flow/options.js';
import { summaryText } from './flow/summary.js';
import { languageOf, t } from './i18n/index.js';
import { acceptVideo } from './media/accept.js';
import { limitProblem } from './media/limits.js';
import { progressBar, progressText } from './progress/format.js';

/** Small pure pieces: what counts as a video, limits in words, callback data, progress text, languages. */
const msg = (fields: Record<string, unknown>) => ({ message_id: 7, date: 1, chat: { id: 1, type: 'private' }, ...fields }) as unknown as Message;
const file = { file_id: 'AAAAfile', file_unique_id: 'UUUU', file_size: 1234 };

describe('acceptVideo', () => {
  it('takes video, round video, animation (before its document twin) and video documents; names everything else', () => {
    expect(acceptVideo(msg({ video: { ...file, duration: 3, width: 2, height: 2 } }))).toMatchObject({ ok: true, video: { messageId: 7, ref: { kind: 'video', durationSec: 3, sizeBytes: 1234 } } });
    expect(acceptVideo(msg({ video_note: { ...file, length: 240, duration: 2 } }))).toMatchObject({ ok: true, video: { ref: { kind: 'video_note' } } });
    expect(acceptVideo(msg({ animation: { ...file, duration: 1, width: 2, height: 2 }, document: { ...file, mime_type: 'video/mp4' } }))).toMatchObject({ ok: true, video: { ref: { kind: 'animation' } } });
    expect(acceptVideo(msg({ document: { ...file, mime_type: 'video/quicktime' } }))).toMatchObject({ ok: true, video: { ref: { kind: 'document', mimeType: 'video/quicktime' } } });
    expect(acceptVideo(msg({ document: { ...file, file_name: 'clip.MOV' } }))).toMatchObject({ ok: true });
    expect(acceptVideo(msg({ document: { ...file, mime_type: 'image/png' } }))).toEqual({ ok: false, what: 'document' });
    expect(acceptVideo(msg({ sticker: file }))).toEqual({ ok: false, what: 'sticker' });
    expect(acceptVideo(msg({ photo: [file] }))).toEqual({ ok: false, what: 'photo' });
    expect(acceptVideo(msg({ audio: file }))).toEqual({ ok: false, what: 'audio' });
    expect(acceptVideo(msg({ voice: file }))).toEqual({ ok: false, what: 'voice' });
    expect(acceptVideo(msg({ text: 'hi' }))).toEqual({ ok: false, what: 'text' });
    expect(acceptVideo(msg({ location: { latitude: 1, longitude: 2 } }))).toEqual({ ok: false, what: 'other' });
  });

  it('explains limits with the numbers; the Telegram 20 MB limit first', () => {
    const limits = { maxDurationSec: 180, maxBytes: 100 * 1024 * 1024, telegramDownloadBytes: 20 * 1024 * 1024 };
    const ref = { source: 'telegram' as const, kind: 'video' as const, fileId: 'AAAA', fileUniqueId: 'BBBB' };
    expect(limitProblem({ ...ref, sizeBytes: 20 * 1024 * 1024 }, limits, t('en'))).toBeNull();
    expect(limitProblem({ ...ref, sizeBytes: 20 * 1024 * 1024 + 1 }, limits, t('en'))).toBe(t('en').fileTooBigForTelegram('20', '20'));
    expect(limitProblem({ ...ref, sizeBytes: 150 * 1024 * 1024 }, { ...limits, telegramDownloadBytes: 2000 * 1024 * 1024 }, t('en'))).toBe(t('en').fileTooLarge('150', '100'));
    expect(limitProblem({ ...ref, durationSec: 180.4 }, limits, t('ru'))).toBe(t('ru').videoTooLong('180', '180'));
    expect(limitProblem({ ...ref, durationSec: 181 }, limits, t('ru'))).toMatch(/181 с.+до 180 с/);
  });
});

describe('options and buttons', () => {
  it('parses only known option values; every button fits Telegram’s 64-byte callback data', () => {
    expect(parseOption('opt:aspect:9:16')).toEqual({ field: 'aspect', value: '9:16' });
    expect(parseOption('opt:size:XL')).toBeNull();
    expect(parseOption('opt:colour:red')).toBeNull();
    for (const f of ['shape', 'position', 'size', 'engine', 'aspect'] as const) {
      for (const b of optionKeyboard(t('ru'), f).inline_keyboard.flat()) {
        expect(Buffer.byteLength((b as { callback_data: string }).callback_data)).toBeLessThanOrEqual(64);
        expect(parseOption((b as { callback_data: string }).callback_data)?.field).toBe(f);
      }
    }
    expect(optionKeyboard(t('en'), 'position').inline_keyboard.map((r) => r.length)).toEqual([3, 3, 3]);
    expect(fieldsFor(['note'])).toEqual(['engine']);
    expect(fieldsFor(['overlay', 'note'])).toEqual(['shape', 'size', 'engine']);
    expect(fieldsFor(['video'])).toEqual(['shape', 'position', 'size', 'engine', 'aspect']);
    expect(parseOptions({ shape: 'rect', position: 'top', size: 'S', engine: 'fast', aspect: '1:1' })).toEqual({ shape: 'rect', position: 'top', size: 'S', engine: 'fast', aspect: '1:1' });
    expect(parseOptions({ shape: 'star', position: 'top', size: 'S', engine: 'fast', aspect: '1:1' })).toBeNull();
    // Stored defaults keep only the known fields (an older bot may have written more).
    expect(parseOptions({ shape: 'rect', position: 'top', size: 'S', engine: 'fast', aspect: '1:1', colour: 'red' })).toEqual({ shape: 'rect', position: 'top', size: 'S', engine: 'fast', aspect: '1:1' });
    expect(parseOptions({ shape: 'rect' })).toBeNull();
  });

  // The options table (flow/options.ts) is the one list; these pin what users see to what it was before the table.
  it('the options table gives the same questions, keyboards, defaults and summaries', () => {
    expect(OPTION_FIELDS).toEqual(['shape', 'position', 'size', 'engine', 'aspect']);
    expect(DEFAULT_OPTIONS).toEqual({ shape: 'circle', position: 'bottomRight', size: 'M', engine: 'fast', aspect: '9:16' });
    const labels = (f: OptionField) => optionKeyboard(t('en'), f).inline_keyboard.map((row) => row.map((b) => b.text));
    expect(labels('shape')).toEqual([['Circle'], ['Rounded square'], ['Square']]);
    expect(labels('position')).toEqual([
      ['↖ Top left', '⬆ Top', '↗ Top right'],
      ['⬅ Left', '⏺ Centre', '➡ Right'],
      ['↙ Bottom left', '⬇ Bottom', '↘ Bottom right'],
    ]);
    expect(labels('size')).toEqual([['S (small)', 'M (medium)', 'L (large)']]);
    expect(labels('engine')).toEqual([['Fast'], ['Best quality (slower)']]);
    expect(labels('aspect')).toEqual([['9:16 (vertical)', '16:9 (horizontal)', '1:1 (square)']]);
    expect(optionKeyboard(t('ru'), 'shape').inline_keyboard.flat().map((b) => b.text)).toEqual(Object.values(t('ru').shape));
    const o = { shape: 'rounded', position: 'topLeft', size: 'L', engine: 'quality', aspect: '16:9' } as const;
    expect(summaryText(t('en'), null, o)).toBe('Shape: Rounded square\nPlace: ↖ Top left\nSize: L (large)\nQuality: Best quality (slower)\nFormat: 16:9 (horizontal)');
    expect(summaryText(t('ru'), ['overlay', 'note'], o)).toBe(
      `Результат: ${t('ru').output.overlay} + ${t('ru').output.note}\nФорма: ${t('ru').shape.rounded}\nРазмер: ${t('ru').size.L}\nКачество: ${t('ru').engine.quality}`,
    );
  });
});

describe('progress text and languages', () => {
  it('draws a bar, names the stage and rounds the ETA so small changes do not cause edits', () => {
    expect(progressBar(0)).toBe('░░░░░░░░░░');
    expect(progressBar(47)).toBe('▓▓▓▓░░░░░░');
    expect(progressBar(100)).toBe('▓▓▓▓▓▓▓▓▓▓');
    expect(progressText(t('en'), { stage: 'overlay', percent: 47.6, eta: 12 })).toBe('⏳ Cutting out the speaker (step 2 of 4)\n▓▓▓▓░░░░░░ 47%\nAbout 15 s left');
    expect(progressText(t('en'), { stage: 'overlay', percent: 47.6, eta: 11 })).toBe(progressText(t('en'), { stage: 'overlay', percent: 47.6, eta: 14 }));
    expect(progressText(t('ru'), { stage: 'render', percent: 80, eta: 150 })).toBe('⏳ Собираю видео (шаг 3 из 4)\n▓▓▓▓▓▓▓▓░░ 80%\nОсталось около 3 мин');
    expect(progressText(t('en'), { stage: 'fetch', percent: 1 })).toBe('⏳ Downloading (step 1 of 4)\n░░░░░░░░░░ 1%');
  });

  it('Russian for ru*, English otherwise', () => {
    expect(languageOf('ru')).toBe('ru');
    expect(languageOf('ru-RU')).toBe('ru');
    expect(languageOf('en-GB')).toBe('en');
    expect(languageOf('uk')).toBe('en');
    expect(languageOf(undefined)).toBe('en');
  });
});
