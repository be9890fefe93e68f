/** Bot API method names are case-insensitive; the fake routes on lower case and records the canonical spelling. */

/** Every method the fake implements, canonically spelled (methods.ts has one handler for each; a test checks). */
export const KNOWN_METHODS: readonly string[] = [
  'getMe',
  'logOut',
  'close',
  'getUpdates',
  'setWebhook',
  'deleteWebhook',
  'getWebhookInfo',
  'setMyCommands',
  'getMyCommands',
  'deleteMyCommands',
  'sendMessage',
  'editMessageText',
  'editMessageReplyMarkup',
  'editMessageCaption',
  'deleteMessage',
  'copyMessage',
  'forwardMessage',
  'answerCallbackQuery',
  'sendChatAction',
  'getFile',
  'sendVideo',
  'sendVideoNote',
  'sendDocument',
  'sendPhoto',
];

const METHOD_NAMES: Record<string, string> = Object.fromEntries(KNOWN_METHODS.map((n) => [n.toLowerCase(), n]));

export function methodName(lower: string): string {
  return METHOD_NAMES[lower] ?? lower;
}

export function isKnownMethod(lower: string): boolean {
  return lower in METHOD_NAMES;
}

/** Methods that send or change a message: what flood control counts. */
export const COUNTED_METHODS = new Set(
  [
    'sendMessage',
    'editMessageText',
    'editMessageReplyMarkup',
    'editMessageCaption',
    'sendVideo',
    'sendVideoNote',
    'sendDocument',
    'sendPhoto',
    'copyMessage',
    'forwardMessage',
  ].map((n) => n.toLowerCase()),
);

/** Methods that take reply_markup (and so may carry inline buttons to validate). */
export const REPLY_MARKUP_METHODS = new Set(
  [
    'sendMessage',
    'editMessageText',
    'editMessageReplyMarkup',
    'editMessageCaption',
    'sendVideo',
    'sendVideoNote',
    'sendDocument',
    'sendPhoto',
    'copyMessage',
  ].map((n) => n.toLowerCase()),
);

/** Methods that upload a file, by the parameter that carries it. */
export const FILE_METHODS: Record<string, { field: string; folder: string }> = {
  sendvideo: { field: 'video', folder: 'videos' },
  sendvideonote: { field: 'video_note', folder: 'video_notes' },
  senddocument: { field: 'document', folder: 'documents' },
  sendphoto: { field: 'photo', folder: 'photos' },
};
