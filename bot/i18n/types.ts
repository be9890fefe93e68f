import type { OutputKind, Stage } from '../../pipeline/contract.js';
import type { ChosenOptions, OptionField } from '../flow/options.js';

/** A label for every value of every option (the options table in flow/options.ts decides which). */
type OptionValueLabels = { [F in OptionField]: Record<ChosenOptions[F], string> };

/** Every text the bot sends, per language. ru.ts must provide the same keys (the compiler checks it). */
export interface Messages extends OptionValueLabels {
  start: string;
  help: string;
  askHead: string;
  /** Something that is not a usable video arrived while we wait for one; `what` names it. */
  notAVideo(what: string): string;
  what: Record<'sticker' | 'photo' | 'audio' | 'voice' | 'text' | 'document' | 'other', string>;
  fileTooBigForTelegram(sizeMb: string, limitMb: string): string;
  fileTooLarge(sizeMb: string, limitMb: string): string;
  videoTooLong(sec: string, limitSec: string): string;
  askBackground: string;
  btnNoBgOverlay: string;
  btnNoBgNote: string;
  btnNoBgBoth: string;
  askSame(summary: string): string;
  btnSame: string;
  btnChoose: string;
  /** The question for each option. */
  pick: Record<OptionField, string>;
  output: Record<OutputKind, string>;
  summaryTitle: string;
  summaryLabels: Record<'output' | OptionField, string>;
  btnConfirm: string;
  btnChange: string;
  previewCaption: string;
  previewFailed: string;
  previewNoPerson: string;
  queued: string;
  alreadyQueued: string;
  stage: Record<Stage, string>;
  statusRunning(stage: string, step: number, bar: string, percent: number, eta: string): string;
  eta(sec: number): string;
  statusDone: string;
  /** The job ended without a second send: the result may already be in the chat (see the «Send again» message). */
  statusUncertain: string;
  statusFailed(reason: string): string;
  statusCancelled: string;
  btnTryAgain: string;
  retryQueued: string;
  retrySendNew: string;
  notYourJob: string;
  /** A button of someone else's dialogue or menu was pressed (group chats). */
  notYourMenu: string;
  /** «Send again» under an uncertain delivery (bot/commands/resend.ts): the toast of each outcome. */
  resendQueued: string;
  resendAlready: string;
  resendDelivered: string;
  resendBusy: string;
  cancelledDialog: string;
  cancelledJobs(n: number): string;
  nothingToCancel: string;
  jobsTitle: string;
  noJobs: string;
  jobState: Record<'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'unknown', string>;
  unknownCommand: string;
  buttonExpired: string;
  alreadyConfirmed: string;
  finishFirst: string;
  startingOver: string;
  settingsShow(summary: string): string;
  settingsNone: string;
  btnEditSettings: string;
  settingsSaved(summary: string): string;
  /**
   * /stats (admins): auto mode's overlay time estimates against the real time over the last 24 h, per path that
   * ran; each part is "12.5% × 4" (mean error × jobs) or "—" when there were none.
   */
  statsRoutingError(gpu: string, cpu: string): string;
}
