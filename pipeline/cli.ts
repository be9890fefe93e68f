/**
 * `npm run render -- --head head.mp4 --background main.mp4 --out final.mp4 [options]` — the whole pipeline on one
 * machine, without Telegram or Redis (see pipeline/cli/render-command.ts for the options).
 *
 * The logger reads LOG_LEVEL when it is first imported; the progress bar owns stderr, so logs default to warnings
 * and the command is loaded only after that default is in place.
 */
process.env.LOG_LEVEL ??= 'warn';
const { main } = await import('./cli/render-command.js');
// Exit explicitly: the in-process renderer and ONNX Runtime may keep handles open after the work is done.
process.exit(await main(process.argv.slice(2)));
