import { Composer } from 'grammy';
import {
  getModeView,
  getQueueOverview,
  getStats,
  listFailed,
  pauseQueue,
  resumeQueue,
  retryAllFailed,
  retryJob,
  setMode,
} from '../../pipeline/admin.js';
import { PROCESSING_MODES, type ProcessingMode } from '../../pipeline/contract.js';
import type { BotContext } from '../context.js';
import type { BotDeps } from '../deps.js';
import { packBlocks, sendParts } from '../../common/telegram/split-text.js';
import { readOperatorNumbers } from '../../pipeline/operator-numbers.js';
import { langOf, t } from '../i18n/index.js';
import { failedEntries, modeText, queueText, routingErrorText, statsText, totalsText } from './format.js';
import { readPublishedStatus } from '../../shotstack/calibration/index.js';
import { calibrationText } from './calibration-text.js';

/**
 * Operator commands, for the user ids in ADMIN_IDS only. For anyone else they call `next()`, so the update falls
 * through to the ordinary "unknown command" reply — the bot does not reveal that they exist.
 */
export const ADMIN_COMMANDS = ['queue', 'failed', 'retry', 'pause', 'resume', 'mode', 'stats'] as const;

export function adminCommands(deps: BotDeps): Composer<BotContext> {
  const admins = new Set(deps.adminIds);
  const composer = new Composer<BotContext>();
  const onlyAdmins = composer.filter((ctx) => ctx.from !== undefined && admins.has(ctx.from.id));
  const p = deps.pipeline;

  onlyAdmins.command('queue', async (ctx) => {
    await ctx.reply(queueText(await getQueueOverview(p)));
  });

  onlyAdmins.command('failed', async (ctx) => {
    const n = Math.min(Math.max(Number.parseInt(ctx.match, 10) || 5, 1), 20);
    await sendParts(packBlocks(failedEntries(await listFailed(p, n))), (text) => ctx.reply(text));
  });

  onlyAdmins.command('retry', async (ctx) => {
    const arg = ctx.match.trim();
    if (!arg) return void (await ctx.reply('Usage: /retry <job id> or /retry all'));
    if (arg === 'all') return void (await ctx.reply(`Retried ${await retryAllFailed(p)} failed jobs.`));
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(arg)) return void (await ctx.reply('That is not a job id.'));
    const outcome = await retryJob(p, arg);
    if (outcome === 'retried') await deps.store.forgetStatusText(arg);
    await ctx.reply({ retried: `Retrying ${arg}.`, not_found: `No job ${arg}.`, not_failed: `${arg} has not failed.` }[outcome]);
  });

  onlyAdmins.command('pause', async (ctx) => {
    await pauseQueue(p);
    await ctx.reply('Queue paused: workers finish running jobs and take no new ones. /resume to continue.');
  });

  onlyAdmins.command('resume', async (ctx) => {
    await resumeQueue(p);
    await ctx.reply('Queue resumed.');
  });

  onlyAdmins.command('mode', async (ctx) => {
    const arg = ctx.match.trim().toLowerCase();
    if (arg) {
      if (arg === 'env' || arg === 'clear') await setMode(p, null, ctx.from!.id);
      else if ((PROCESSING_MODES as readonly string[]).includes(arg)) await setMode(p, arg as ProcessingMode, ctx.from!.id);
      else return void (await ctx.reply('Usage: /mode [auto|gpu|cpu|env]'));
    }
    const [view, calibration] = await Promise.all([getModeView(p, deps.envMode), readPublishedStatus(p.redis, p.prefix)]);
    await ctx.reply(`${modeText(view)}\n${calibrationText(calibration)}`);
  });

  onlyAdmins.command('stats', async (ctx) => {
    const [today, totals] = await Promise.all([getStats(p), readOperatorNumbers(p)]);
    await ctx.reply(`${statsText(today)}\n\n${totalsText(totals)}\n${routingErrorText(totals, t(langOf(ctx)))}`);
  });

  return composer;
}
