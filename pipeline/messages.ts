import type { FailureCode } from './failures.js';

/**
 * The few texts the worker itself sends (result captions and the failure notice), in the job's language.
 * The bot may reuse `failureText` so a failure reads the same whichever side reports it.
 */
export type Language = 'ru' | 'en';

const FAILURES: Record<FailureCode, Record<Language, string>> = {
  empty_file: { en: 'The file is empty. Please send the video again.', ru: 'Файл пустой. Пришлите видео ещё раз.' },
  not_video: { en: 'This file is not a video I can read. Please send an MP4, MOV or WebM.', ru: 'Этот файл — не видео, которое я могу прочитать. Пришлите MP4, MOV или WebM.' },
  still_image: {
    en: 'This is a photo or a GIF, not a video. Please send a video of yourself talking (MP4, MOV or WebM).',
    ru: 'Это фото или GIF, а не видео. Пришлите видео, где вы говорите (MP4, MOV или WebM).',
  },
  too_short: {
    en: 'The video is too short: it needs to last at least half a second. Please send a longer one.',
    ru: 'Видео слишком короткое: нужно хотя бы полсекунды. Пришлите видео подлиннее.',
  },
  frame_too_large: {
    en: 'The picture is larger than 4K. Please send the video in 4K or less (1080p is plenty).',
    ru: 'Кадр больше 4K. Пришлите видео в 4K или меньше (1080p вполне достаточно).',
  },
  no_video_stream: { en: 'This file has sound but no picture. Please send a video.', ru: 'В этом файле есть звук, но нет изображения. Пришлите видео.' },
  corrupt: { en: 'The video is damaged or cut short. Please record or export it again.', ru: 'Видео повреждено или обрезано. Запишите или сохраните его заново.' },
  too_long: { en: 'The video is too long. Please send a shorter one.', ru: 'Видео слишком длинное. Пришлите покороче.' },
  too_large: { en: 'The file is too large. Please send a smaller one.', ru: 'Файл слишком большой. Пришлите файл поменьше.' },
  too_small: { en: 'The video is too small to find a person in it. Please send a larger one.', ru: 'Видео слишком маленькое, чтобы найти в нём человека. Пришлите видео побольше.' },
  no_person: { en: 'I could not find a person in this video. Please send a video where you are clearly visible.', ru: 'Я не нашёл человека в этом видео. Пришлите видео, где вас хорошо видно.' },
  telegram_file_too_big: {
    en: 'Telegram lets bots download files only up to 20 MB. Please send a shorter or more compressed video.',
    ru: 'Telegram разрешает ботам скачивать файлы только до 20 МБ. Пришлите видео короче или сильнее сжатое.',
  },
  input_unavailable: { en: 'I could not download your video. Please send it again.', ru: 'Не удалось скачать ваше видео. Пришлите его ещё раз.' },
  too_many_jobs: { en: 'You already have videos in progress. Please wait until they are done.', ru: 'У вас уже есть видео в работе. Дождитесь, пока они будут готовы.' },
  gpu_unavailable: { en: 'The video processor is unavailable right now. Please try again later.', ru: 'Обработчик видео сейчас недоступен. Попробуйте позже.' },
  renderer_unavailable: { en: 'The rendering service is unavailable right now. Please try again later.', ru: 'Сервис рендеринга сейчас недоступен. Попробуйте позже.' },
  renderer_calibrating: {
    en: 'The rendering service is being set up and could not take your video in time. Please try again in a few minutes.',
    ru: 'Сервис рендеринга настраивается и не успел взять ваше видео. Попробуйте ещё раз через несколько минут.',
  },
  render_failed: { en: 'The final render failed. Please try again.', ru: 'Не удалось собрать итоговое видео. Попробуйте ещё раз.' },
  telegram_unavailable: { en: 'I could not send the result. Please try again later.', ru: 'Не удалось отправить результат. Попробуйте позже.' },
  output_too_large: { en: 'The result is too large for Telegram. Please try a shorter video.', ru: 'Результат слишком большой для Telegram. Попробуйте видео покороче.' },
  chat_unavailable: { en: 'I cannot write to this chat.', ru: 'Я не могу писать в этот чат.' },
  cancelled: { en: 'The job was cancelled.', ru: 'Задание отменено.' },
  interrupted: { en: 'Processing of your video was interrupted several times. Please try again.', ru: 'Обработка вашего видео несколько раз прерывалась. Попробуйте ещё раз.' },
  misconfigured: { en: 'Something is wrong on our side. We are on it; please try again later.', ru: 'Что-то не так на нашей стороне. Мы уже разбираемся; попробуйте позже.' },
  internal: { en: 'Something went wrong. Please try again.', ru: 'Что-то пошло не так. Попробуйте ещё раз.' },
};

export function failureText(code: FailureCode, language: Language): string {
  return FAILURES[code][language];
}

const CAPTIONS: Record<'video' | 'overlay' | 'note' | 'link', Record<Language, string>> = {
  video: { en: 'Your video with the camera bubble is ready.', ru: 'Ваше видео с «пузырём» готово.' },
  overlay: { en: 'Your transparent overlay (WebM with alpha).', ru: 'Ваш прозрачный оверлей (WebM с альфа-каналом).' },
  note: { en: '', ru: '' },
  link: {
    en: 'Your video is ready but too large to send here. Download it (the link works for 24 hours):',
    ru: 'Видео готово, но слишком большое, чтобы отправить его здесь. Скачайте его (ссылка работает 24 часа):',
  },
};

const FAST_INSTEAD_OF_QUALITY: Record<Language, string> = {
  en: 'Made with the fast engine: the best-quality one needs our GPU, which is not available right now.',
  ru: 'Сделано быстрым движком: для лучшего качества нужен наш GPU, а он сейчас недоступен.',
};

export function resultCaption(kind: 'video' | 'overlay' | 'note' | 'link', language: Language, fastInsteadOfQuality = false): string {
  const caption = CAPTIONS[kind][language];
  return fastInsteadOfQuality ? [caption, FAST_INSTEAD_OF_QUALITY[language]].filter(Boolean).join('\n') : caption;
}

// Sent instead of a second copy when an earlier send of the result may have reached the chat (worker/delivery-claim.ts).
const UNCERTAIN_DELIVERY: Record<Language, (hours: number) => string> = {
  en: (h) =>
    'Your result may already be in this chat: I was interrupted right after sending it, so I cannot tell whether it arrived. ' +
    `If you don't see it, press «Send again» (the button works for ${h} h).`,
  ru: (h) =>
    'Возможно, результат уже в этом чате: меня прервали сразу после отправки, и я не знаю, дошёл ли он. ' +
    `Если вы его не видите, нажмите «Отправить ещё раз» (кнопка работает ${h} ч).`,
};

const RESEND_BUTTON: Record<Language, string> = { en: '📤 Send again', ru: '📤 Отправить ещё раз' };

export function uncertainDeliveryText(language: Language, windowSec: number): string {
  return UNCERTAIN_DELIVERY[language](Math.max(1, Math.round(windowSec / 3600)));
}

export function resendButtonText(language: Language): string {
  return RESEND_BUTTON[language];
}
