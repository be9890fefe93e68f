import type { InputLimits, TelegramInputRef } from '../../pipeline/contract.js';
import type { Messages } from '../i18n/types.js';

/**
 * Refuses, from what Telegram already told us about a file, what the worker would refuse later — so the user hears
 * it at once, in plain words with the numbers, instead of after a queue wait. Same limits as the pipeline's
 * `checkInputHints` (inputLimitsFromEnv), checked per file while the dialogue still runs.
 */
const MB = 1024 * 1024;

export function limitProblem(ref: TelegramInputRef, limits: InputLimits, m: Messages): string | null {
  const mb = (n: number) => (n / MB).toFixed(1).replace(/\.0$/, '');
  if (ref.sizeBytes !== undefined && ref.sizeBytes > limits.telegramDownloadBytes) {
    return m.fileTooBigForTelegram(mb(ref.sizeBytes), mb(limits.telegramDownloadBytes));
  }
  if (ref.sizeBytes !== undefined && ref.sizeBytes > limits.maxBytes) return m.fileTooLarge(mb(ref.sizeBytes), mb(limits.maxBytes));
  if (ref.durationSec !== undefined && ref.durationSec > limits.maxDurationSec) {
    return m.videoTooLong(String(Math.round(ref.durationSec)), String(Math.round(limits.maxDurationSec)));
  }
  return null;
}
