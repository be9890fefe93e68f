/**
 * `npm run setup` — gets this machine the one system tool bubblecast needs besides Node: ffmpeg (with ffprobe).
 * Run it after `npm ci`, as often as you like:
 *
 * - ffmpeg and ffprobe work (FFMPEG_PATH / FFPROBE_PATH, or `ffmpeg` / `ffprobe` on PATH): prints nothing, exit 0.
 * - FFMPEG_PATH or FFPROBE_PATH names a binary that does not work: stops (exit 1) naming it — installing a package
 *   cannot fix a wrong path.
 * - missing on Debian/Ubuntu, run as root: `apt-get update` + `apt-get install -y ffmpeg`, then checks again.
 * - missing and not root, or on macOS, or elsewhere: stops (exit 1) with the exact command to run, e.g.
 *   `sudo apt-get update && sudo apt-get install -y ffmpeg` or `brew install ffmpeg`.
 *
 * The check is the one every entry point runs at start-up (common/ffmpeg.ts, checkFfmpegTools).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ConfigError } from '../common/config.js';
import { isFfmpegUnavailableError, type FfmpegUnavailableError } from '../common/errors.js';
import { checkFfmpegTools } from '../common/ffmpeg.js';
import { applyRuntimeConfig, loadRuntimeConfig } from '../common/runtime-config.js';

const APT_INSTALL = 'sudo apt-get update && sudo apt-get install -y ffmpeg';

function say(line: string): void {
  process.stderr.write(`setup: ${line}\n`);
}

/** The executable `name` on PATH, or null (what `command -v` does, without a shell). */
function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Runs checkFfmpegTools (it remembers nothing, so a check after installing sees the new binaries); null when both work. */
async function problem(): Promise<FfmpegUnavailableError | null> {
  try {
    await checkFfmpegTools();
    return null;
  } catch (e) {
    if (isFfmpegUnavailableError(e)) return e;
    throw e;
  }
}

function installWithApt(): boolean {
  say('ffmpeg is missing: installing it with apt-get (Debian/Ubuntu, running as root)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', 'ffmpeg']]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (r.status !== 0) {
      say(`\`apt-get ${args.join(' ')}\` failed (${r.error?.message ?? `exit code ${r.status}`})`);
      return false;
    }
  }
  return true;
}

async function main(): Promise<number> {
  let runtime;
  try {
    runtime = loadRuntimeConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    say(e.message);
    return 1;
  }
  // Not setUpProcess: a bad variable is reported in setup's own words above.
  applyRuntimeConfig(runtime);
  const found = await problem();
  if (!found) return 0;

  // A variable pointing somewhere wrong is the operator's choice to fix; a package would not change where it points.
  const explicit = found.tool === 'ffmpeg' ? runtime.FFMPEG_PATH !== 'ffmpeg' : runtime.FFPROBE_PATH !== 'ffprobe';
  if (explicit) {
    say(`${found.message}`);
    say(`fix ${found.variable} (or unset it to use \`${found.tool}\` from PATH), then run \`npm run setup\` again`);
    return 1;
  }
  // On PATH but not working (a broken install): reinstalling is the operator's call.
  const present = onPath(found.tool);
  if (present) {
    say(found.message);
    say(`${present} is there but does not work; on Debian/Ubuntu: sudo apt-get install --reinstall -y ffmpeg`);
    return 1;
  }

  if (process.platform === 'darwin') {
    say(`ffmpeg is not installed (\`${found.tool}\` is not on PATH). Install it with Homebrew, then run \`npm run setup\` again:`);
    say('  brew install ffmpeg');
    return 1;
  }
  if (process.platform === 'linux' && onPath('apt-get')) {
    if (process.getuid?.() !== 0) {
      say(`ffmpeg is not installed (\`${found.tool}\` is not on PATH). Install it, then run \`npm run setup\` again:`);
      say(`  ${APT_INSTALL}`);
      return 1;
    }
    if (!installWithApt()) return 1;
    const after = await problem();
    if (after) {
      say(after.message);
      return 1;
    }
    say('ffmpeg installed');
    return 0;
  }
  say(`ffmpeg is not installed (\`${found.tool}\` is not on PATH) and this is not a Debian/Ubuntu or macOS machine.`);
  say('Install ffmpeg (with ffprobe) with your package manager, or set FFMPEG_PATH and FFPROBE_PATH to its binaries,');
  say('then run `npm run setup` again.');
  return 1;
}

process.exitCode = await main();
