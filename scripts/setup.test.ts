import { spawn, execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../testing/media.js';

/**
 * `npm run setup` (scripts/setup.ts) as a real child process. The machine has a real ffmpeg; "missing" is a PATH
 * without it. apt-get is the one stand-in: a script that records its arguments and, on `install`, puts ffmpeg and
 * ffprobe on that PATH (wrappers around the real ones) — a test must not install packages on the host.
 */
const realFfmpeg = execFileSync('sh', ['-c', 'command -v ffmpeg']).toString().trim();
const realFfprobe = execFileSync('sh', ['-c', 'command -v ffprobe']).toString().trim();
const chmodBin = execFileSync('sh', ['-c', 'command -v chmod']).toString().trim();
const isRoot = process.getuid?.() === 0;

interface Run {
  code: number | null;
  output: string;
}

function runSetup(env: Record<string, string>, opts: { uid?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/setup.ts')], {
      cwd: repoRoot,
      // Only what the script needs: no FFMPEG_PATH/FFPROBE_PATH from the caller unless the test sets them.
      env: { HOME: tmpdir(), LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('npm run setup (scripts/setup.ts)', () => {
  let dir: string;
  let bin: string;
  let aptLog: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bc-setup-'));
    await chmod(dir, 0o755);
    bin = join(dir, 'bin');
    aptLog = join(dir, 'apt.log');
    await mkdir(bin, { mode: 0o755 });
    // printf's format inside single quotes: `\n` is a newline, "$@" stays literal.
    const wrapper = (real: string) => `#!/bin/sh\\nexec ${real} "$@"\\n`;
    await writeFile(
      join(bin, 'apt-get'),
      [
        '#!/bin/sh',
        `echo "$*" >> ${aptLog}`,
        'if [ "$1" = install ]; then',
        `  printf '${wrapper(realFfmpeg)}' > ${bin}/ffmpeg`,
        `  printf '${wrapper(realFfprobe)}' > ${bin}/ffprobe`,
        `  ${chmodBin} +x ${bin}/ffmpeg ${bin}/ffprobe`,
        'fi',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('with ffmpeg and ffprobe on PATH: prints nothing and exits 0', async () => {
    const r = await runSetup({ PATH: process.env.PATH! });
    expect(r).toEqual({ code: 0, output: '' });
  });

  it('FFMPEG_PATH naming a missing binary: stops naming the variable, and installs nothing', async () => {
    const r = await runSetup({ PATH: bin, FFMPEG_PATH: '/nonexistent/ffmpeg' });
    expect(r.code).toBe(1);
    expect(r.output).toContain('ffmpeg cannot run (FFMPEG_PATH=/nonexistent/ffmpeg): not found');
    expect(r.output).toContain('fix FFMPEG_PATH (or unset it');
    expect(existsSync(aptLog)).toBe(false);
  });

  it.skipIf(!isRoot)('missing, as root on a machine with apt-get: installs ffmpeg, then a second run is quiet', async () => {
    const first = await runSetup({ PATH: bin });
    expect(first.output).toContain('installing it with apt-get');
    expect(first.code).toBe(0);
    expect((await readFile(aptLog, 'utf8')).trim().split('\n')).toEqual(['update -qq', 'install -y -qq --no-install-recommends ffmpeg']);
    expect(existsSync(join(bin, 'ffprobe'))).toBe(true);

    const second = await runSetup({ PATH: bin });
    expect(second).toEqual({ code: 0, output: '' });
    expect((await readFile(aptLog, 'utf8')).trim().split('\n')).toHaveLength(2);
  });

  it('missing, not root: stops with the exact sudo command, and installs nothing', async () => {
    // As root, run it as `nobody`; otherwise this process is not root already.
    const r = await runSetup({ PATH: bin }, isRoot ? { uid: 65534 } : {});
    expect(r.code).toBe(1);
    expect(r.output).toContain('ffmpeg is not installed (`ffmpeg` is not on PATH)');
    expect(r.output).toContain('  sudo apt-get update && sudo apt-get install -y ffmpeg');
    expect(existsSync(aptLog)).toBe(false);
  });

  it('ffmpeg on PATH that does not work: names it and suggests a reinstall instead of installing', async () => {
    await writeFile(join(bin, 'ffmpeg'), '#!/bin/sh\necho "ffmpeg: error while loading shared libraries: libavdevice.so.59" >&2\nexit 127\n', { mode: 0o755 });
    await writeFile(join(bin, 'ffprobe'), `#!/bin/sh\nexec ${realFfprobe} "$@"\n`, { mode: 0o755 });
    const r = await runSetup({ PATH: bin });
    expect(r.code).toBe(1);
    expect(r.output).toContain('libavdevice.so.59');
    expect(r.output).toContain('sudo apt-get install --reinstall -y ffmpeg');
    expect(existsSync(aptLog)).toBe(false);
  });
});
