import { writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { setUpProcess } from '../common/runtime-config.js';
import { parseCli } from './config.js';
import { summary } from './report.js';
import { cleanupRun, runLoadTest } from './run.js';

/**
 * `npm run loadtest -- --users 20 --workers 2 --chaos --report /tmp/lt.json`: the deployed shape on this machine
 * (loadtest/cluster.ts) served to simulated users (users.ts), optionally under chaos (chaos.ts). Prints a summary,
 * writes the JSON report, and exits 1 when a confirmed job was lost or a result was sent twice.
 */
// FFMPEG_PATH/FFPROBE_PATH for cutting the clips (the cluster's processes read their own); a bad LOG_LEVEL stops here.
setUpProcess();
const log = pino({ name: 'loadtest', level: process.env.LOG_LEVEL ?? 'info' });

try {
  const cfg = parseCli(process.argv.slice(2));
  const report = await runLoadTest(cfg, log);
  const removed = await cleanupRun(report, cfg.keep);
  if (cfg.report) await writeFile(cfg.report, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${summary(report)}\n${removed ? '' : `run folder kept: ${report.runDir}\n`}`);
  process.exit(report.lost > 0 || report.duplicates > 0 ? 1 : 0);
} catch (e) {
  log.fatal({ err: (e as Error).message }, 'load test failed');
  process.exit(2);
}
