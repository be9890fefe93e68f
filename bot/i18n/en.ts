import type { Messages } from './types.js';

export const en: Messages = {
  start:
    'Hi! I put you into a round “camera bubble” over another video — like a streamer’s face cam.\n\n' +
    'Send me a video of yourself talking (a normal video, a round video message or a video file). ' +
    'Then send the main video to put you on top of, or choose “no background” to get just the transparent bubble ' +
    'or a round video message. I cut you out of your background, so no green screen is needed.\n\n' +
    'Example: a 30 s talking-head clip + a screen recording → the screen recording with you in a circle in the corner.\n\n' +
    '/new — start a new video, /help — how it works.',
  help:
    'How it works:\n' +
    '1. Send the video of the speaker (up to 20 MB — that is Telegram’s limit for bots — and up to 3 minutes).\n' +
    '2. Send the main video, or tap “No background”.\n' +
    '3. Choose the shape, place, size, quality and format with the buttons. You will see a preview picture.\n' +
    '4. Tap “Confirm”. I show the progress in one message and send the result.\n\n' +
    'Commands: /new — new video, /settings — your default settings, /status — your videos, /cancel — stop.',
  askHead: 'Send me the video of the speaker: a video, a round video message, or a video file (MP4/MOV, up to 20 MB).',
  notAVideo: (what) => `That is ${what}, not a video. Please send a video, a round video message or a video file (MP4/MOV).`,
  what: {
    sticker: 'a sticker',
    photo: 'a photo',
    audio: 'an audio file',
    voice: 'a voice message',
    text: 'a text message',
    document: 'a file that is not a video',
    other: 'a message',
  },
  fileTooBigForTelegram: (size, limit) =>
    `This file is ${size} MB. Telegram lets bots download files only up to ${limit} MB, so I cannot get it. ` +
    'Please send a shorter clip, or compress it (for example, send it as a normal video instead of a file — Telegram compresses those).',
  fileTooLarge: (size, limit) => `This file is ${size} MB; I accept up to ${limit} MB. Please send a smaller one.`,
  videoTooLong: (sec, limit) => `This video lasts ${sec} s; I accept up to ${limit} s. Please trim it and send it again.`,
  askBackground: 'Got it. Now send the main video to put the bubble on — or choose “No background”.',
  btnNoBgOverlay: 'No background: transparent file',
  btnNoBgNote: 'No background: round video',
  btnNoBgBoth: 'No background: both',
  askSame: (summary) => `Use the same settings as last time?\n\n${summary}`,
  btnSame: 'Same as last time',
  btnChoose: 'Choose again',
  pick: {
    shape: 'Shape of the bubble:',
    position: 'Where should the bubble be?',
    size: 'Size of the bubble:',
    engine: 'Cut-out quality:',
    aspect: 'Format of the result:',
  },
  shape: { circle: 'Circle', rounded: 'Rounded square', rect: 'Square' },
  position: {
    topLeft: '↖ Top left', top: '⬆ Top', topRight: '↗ Top right',
    left: '⬅ Left', center: '⏺ Centre', right: '➡ Right',
    bottomLeft: '↙ Bottom left', bottom: '⬇ Bottom', bottomRight: '↘ Bottom right',
  },
  size: { S: 'S (small)', M: 'M (medium)', L: 'L (large)' },
  engine: { fast: 'Fast', quality: 'Best quality (slower)' },
  aspect: { '9:16': '9:16 (vertical)', '16:9': '16:9 (horizontal)', '1:1': '1:1 (square)' },
  output: { video: 'bubble over your video', overlay: 'transparent bubble file', note: 'round video message' },
  summaryTitle: 'Please check:',
  summaryLabels: { output: 'Result', shape: 'Shape', position: 'Place', size: 'Size', engine: 'Quality', aspect: 'Format' },
  btnConfirm: '✅ Confirm',
  btnChange: '✏️ Change',
  previewCaption: 'Preview of one frame.',
  previewFailed: 'I could not make a preview picture, but you can still confirm.',
  previewNoPerson:
    'I could not find a person in your video’s first second, so the result would be empty. ' +
    'Please send a video where you are clearly visible (/new), or confirm anyway.',
  queued: '⏳ In the queue…',
  alreadyQueued: 'This video is already in the queue. See /status.',
  stage: { fetch: 'Downloading', overlay: 'Cutting out the speaker', render: 'Putting it together', deliver: 'Sending' },
  statusRunning: (stage, step, bar, percent, eta) => `⏳ ${stage} (step ${step} of 4)\n${bar} ${percent}%${eta ? `\n${eta}` : ''}`,
  eta: (sec) => (sec < 60 ? `About ${Math.max(1, Math.round(sec))} s left` : `About ${Math.round(sec / 60)} min left`),
  statusDone: '✅ Done! Your video is below.',
  statusUncertain: '✅ Done. Your video may already be in this chat — see the message below.',
  statusFailed: (reason) => `❌ ${reason}`,
  statusCancelled: '⏹ Cancelled.',
  btnTryAgain: '🔁 Try again',
  retryQueued: '⏳ Trying again…',
  retrySendNew: 'This needs a different video. Please send a new one (/new).',
  notYourJob: 'This is not your video.',
  notYourMenu: 'Sorry, this menu belongs to another user. Send /new to make your own video.',
  resendQueued: '📤 Sending it again…',
  resendAlready: 'It is already on its way.',
  resendDelivered: 'It has been sent: look above in this chat.',
  resendBusy: 'One moment, please: press again in a few seconds.',
  cancelledDialog: 'Stopped. Send a video or /new whenever you like.',
  cancelledJobs: (n) => `Stopped. ${n === 1 ? 'Your video in progress was cancelled.' : `${n} videos in progress were cancelled.`}`,
  nothingToCancel: 'There is nothing to cancel.',
  jobsTitle: 'Your videos:',
  noJobs: 'You have no videos yet. Send one to start.',
  jobState: { waiting: 'in the queue', active: 'in progress', delayed: 'waiting to retry', completed: 'done', failed: 'failed', unknown: 'gone' },
  unknownCommand: 'I do not know this command. /help lists what I can do.',
  buttonExpired: 'This button is no longer active.',
  alreadyConfirmed: 'Already confirmed — see /status.',
  finishFirst: 'Please finish the current video first, or /cancel it.',
  startingOver: 'Starting over.',
  settingsShow: (summary) => `Your default settings:\n\n${summary}`,
  settingsNone: 'You have no saved settings yet; they are saved when you confirm a video.',
  btnEditSettings: 'Change defaults',
  settingsSaved: (summary) => `Saved. New defaults:\n\n${summary}`,
  statsRoutingError: (gpu, cpu) => `Route estimate error, last 24 h (mean |estimate − actual| / actual): GPU ${gpu}; CPU ${cpu}`,
};
