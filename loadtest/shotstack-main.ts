import { logger } from '../common/logger.js';
import { setUpProcess } from '../common/runtime-config.js';
import { startLocalShotstack } from '../shotstack/local/server.js';
import type { LocalFaults } from '../shotstack/local/faults.js';
import { serveRpc } from './rpc.js';

/**
 * The local Shotstack-compatible renderer as its own process, like `npm run shotstack:local`, plus a way in for the
 * load test's chaos: faults (shotstack/local/faults.ts) are set over IPC, since the stock entry point has no
 * switch for them. Env: SHOTSTACK_LOCAL_PORT (0 = free), SHOTSTACK_LOCAL_DATA_DIR. Sends `{ ready: url }`.
 */
setUpProcess();
const server = await startLocalShotstack({
  port: Number(process.env.SHOTSTACK_LOCAL_PORT ?? 0),
  host: '127.0.0.1',
  dataDir: process.env.SHOTSTACK_LOCAL_DATA_DIR,
  logger,
});

serveRpc({
  injectFaults: (f: LocalFaults) => server.injectFaults(f),
  clearFaults: () => server.clearFaults(),
  /** Requests answered so far, by status (what the chaos did). */
  requestCount: () => server.requests.length,
});

process.send?.({ ready: server.url });
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void server.close().finally(() => process.exit(0)));
}
