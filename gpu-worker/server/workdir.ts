import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';

/**
 * Each server process keeps its uploads and results in its own folder `<parent>/instance-XXXXXX`, marked with its
 * pid. On start, folders of processes that no longer exist (a crash, a SIGKILL) are removed, so killed instances
 * do not fill the disk; folders of live processes (another instance on the same host, parallel tests) are left.
 */
const PREFIX = 'instance-';
const OWNER_FILE = 'owner';
/** Tells this process from an earlier one with the same pid (in a container every run is pid 1). */
const PROCESS_TOKEN = randomUUID();

export async function createInstanceDir(parent: string, log: Logger): Promise<string> {
  await mkdir(parent, { recursive: true });
  await removeOrphans(parent, log);
  const dir = await mkdtemp(join(parent, PREFIX));
  await writeFile(join(dir, OWNER_FILE), `${process.pid} ${PROCESS_TOKEN}`);
  return dir;
}

async function removeOrphans(parent: string, log: Logger): Promise<void> {
  for (const name of await readdir(parent)) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(parent, name);
    const owner = await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => null);
    // No owner file: a sibling between mkdtemp and writeFile, or one that crashed there (an empty folder). Leave it.
    if (owner === null) continue;
    const [pidText, token] = owner.split(' ');
    const pid = Number(pidText);
    const ours = pid === process.pid && token === PROCESS_TOKEN;
    const otherLiveProcess = pid !== process.pid && isAlive(pid);
    if (ours || otherLiveProcess) continue;
    await rm(dir, { recursive: true, force: true });
    log.info({ dir }, 'removed the work folder of a process that no longer runs');
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
