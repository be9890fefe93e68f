import { resolve } from 'node:path';
import { logger } from '../../common/logger.js';
import { setUpProcess } from '../../common/runtime-config.js';
import { loadShotstackConfig } from '../config.js';
import { formatReadings, readingsFromList } from '../readings.js';
import { startLocalShotstack } from './server.js';

/**
 * `npm run shotstack:local`: the local Shotstack-compatible renderer on SHOTSTACK_LOCAL_PORT (default 4550).
 * Files live in SHOTSTACK_LOCAL_DATA_DIR (default ./tmp/shotstack-local, git-ignored) so renders survive restarts
 * of the client, not of this process (ids are kept in memory): what a previous run left there is removed at
 * start-up, and sources and renders expire after 24 h. Render assets are fetched from public addresses only (no
 * allow-list here: that option exists for tests), with the default caps (limits.ts). It reads Edits the way
 * SHOTSTACK_LOCAL_EMULATE says (shotstack/readings.ts; unnamed readings keep DEFAULT_READINGS).
 */
setUpProcess();
const cfg = loadShotstackConfig();
const readings = readingsFromList(cfg.SHOTSTACK_LOCAL_EMULATE);
const server = await startLocalShotstack({
  port: cfg.SHOTSTACK_LOCAL_PORT,
  host: cfg.SHOTSTACK_LOCAL_HOST,
  dataDir: resolve(cfg.SHOTSTACK_LOCAL_DATA_DIR),
  emulate: readings,
});
logger.info(
  { url: server.url, env: cfg.SHOTSTACK_ENV, readings: formatReadings(readings) },
  `local Shotstack renderer ready: unset SHOTSTACK_API_KEY (or set SHOTSTACK_API_URL=${server.url}) to render here`,
);

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'local Shotstack renderer stopping');
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
