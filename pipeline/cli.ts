/**
 * `npm run render -- --head head.mp4 --background main.mp4 --out final.mp4 [options]` — the whole pipeline on one
 * machine, without Telegram or Redis (see pipeline/cli/render-command.ts for the options).
 *
 * The progress bar owns stderr, so logs default to warnings (LOG_LEVEL still wins).
 */
import { setUpProcess } from '../common/runtime-config.js';
import { main } from './cli/render-command.js';

setUpProcess({ defaultLevel: 'warn' });
// Exit explicitly: the in-process renderer and ONNX Runtime may keep handles open after the work is done.
process.exit(await main(process.argv.slice(2)));
