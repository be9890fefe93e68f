/**
 * scripts/image-smoke/drive.ts — the run half of scripts/image-smoke.sh (see its header). Runs on the host with tsx.
 *
 * Given the root of a built image (a read-only bind of `podman image mount`, prepared by image-smoke.sh with /proc,
 * /dev, /sys, a tmpfs /tmp and a tmpfs work volume), it starts the image's entry points with `chroot` — as the
 * image's USER, with only the image's ENV plus the deploy variables, in its WORKDIR (the host's network: loopback
 * is shared):
 *
 *   gpu     (--gpu-root) the GPU image's CMD                   (node --import tsx gpu-worker/server/main.ts)
 *           with ORT_PROVIDERS=cpu; waits until /health says ready
 *   bot     (--root) the bot image's CMD                       (node --import tsx bot/main.ts)
 *   worker  the start command README's Railway section gives   (node --import tsx pipeline/worker/main.ts)
 *           with PROCESSING_MODE=gpu and GPU_WORKER_URL at the GPU image when it runs, else PROCESSING_MODE=cpu
 *
 * against the fake Telegram Bot API (testing/fake-telegram, started here on loopback) and drives one dialogue as a
 * user would (as bot/e2e.test.ts does): /start → head video → background → the five options → preview photo →
 * Confirm → status message → the finished video. Then GET /healthz, SIGTERM every process (each must exit 0),
 * check the token stayed out of their output, and probe the video with the host's ffprobe.
 *
 *   npx tsx scripts/image-smoke/drive.ts [--root DIR --image REF] [--gpu-root DIR --gpu-image REF]
 *     --redis-url URL --prefix P --logs DIR [--head FILE] [--background FILE] [--timeout-s N]
 *
 * Prints one JSON line (the result) last; exit status 0 only when the job came through.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CB } from '../../bot/flow/callbacks.js';
import { t } from '../../bot/i18n/index.js';
import { startFakeTelegram, type FakeTelegram } from '../../testing/fake-telegram.js';
import { unusedPort } from '../../testing/ports.js';

const { values: args } = parseArgs({
  options: {
    root: { type: 'string' },
    image: { type: 'string' },
    'gpu-root': { type: 'string' },
    'gpu-image': { type: 'string' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    prefix: { type: 'string' },
    logs: { type: 'string' },
    head: { type: 'string' },
    background: { type: 'string' },
    'timeout-s': { type: 'string', default: '300' },
  },
});
const need = (k: keyof typeof args): string => {
  const v = args[k];
  if (typeof v !== 'string' || !v) throw new Error(`drive.ts: --${k} is required`);
  return v;
};
const root = args.root ? resolve(args.root) : null;
const image = args.image ?? null;
const gpuRoot = args['gpu-root'] ? resolve(args['gpu-root']) : null;
const gpuImage = args['gpu-image'] ?? null;
if (!root && !gpuRoot) throw new Error('drive.ts: --root (bot image) and/or --gpu-root (GPU image) is required');
const redisUrl = need('redis-url');
const prefix = need('prefix');
const logs = resolve(need('logs'));
const timeoutMs = Number(args['timeout-s']) * 1000;
const repo = resolve(import.meta.dirname, '../..');
const sharedMedia = resolve(repo, '../shared/media');
const headSrc = resolve(args.head ?? join(sharedMedia, 'hopper_static_720x720.mp4'));
const TOKEN = '7000000001:SMOKEsmokeSMOKEsmokeSMOKEsmokeSMOKEs';
const en = t('en');
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const say = (line: string) => console.log(`drive [${elapsed()}]: ${line}`);

interface ImageConfig {
  User?: string;
  Healthcheck?: { Test?: string[] };
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[] | null;
  WorkingDir?: string;
}

/** uid:gid of the image's USER, read from the image's own /etc/passwd (a name or a numeric id). */
function imageUser(root: string, user: string | undefined): { uid: number; gid: number; home: string } {
  const name = (user ?? 'root').split(':')[0]!;
  for (const line of readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name || f[2] === name) return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' };
  }
  if (/^\d+$/.test(name)) return { uid: Number(name), gid: Number(name), home: '/' };
  throw new Error(`the image's USER ${name} is not in its /etc/passwd`);
}

interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

/** One entry point of the image, started with chroot as the image would start it. */
function startInImage(name: string, root: string, cfg: ImageConfig, cmd: readonly string[], env: Record<string, string>): Proc {
  const user = imageUser(root, cfg.User);
  const imageEnv = (cfg.Env ?? []).filter((e) => e.includes('='));
  const overrides = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const entry = [...(cfg.Entrypoint ?? []), ...cmd];
  // env -i: nothing of the host's environment leaks in; HOME as the container runtime sets it.
  const argv = [
    `--userspec=${user.uid}:${user.gid}`,
    `--groups=${user.gid}`,
    root,
    '/usr/bin/env', '-i', `--chdir=${cfg.WorkingDir || '/'}`,
    `HOME=${user.home}`, `HOSTNAME=image-smoke`, ...imageEnv, ...overrides,
    ...entry,
  ];
  const child = spawn('chroot', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const file = createWriteStream(join(logs, `${name}.log`));
  let out = '';
  const take = (c: Buffer) => {
    out += c.toString();
    file.write(c);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((r) => child.on('exit', (code, signal) => r(code ?? (signal ? 128 : null))));
  say(`${name}: chroot ${root} (uid ${user.uid}) ${entry.join(' ')}`);
  return { name, child, exited, output: () => out };
}

async function stop(p: Proc, graceMs: number): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  const code = await p.exited;
  clearTimeout(timer);
  return code;
}

function makeClips(dir: string): { head: string; background: string } {
  if (!existsSync(headSrc)) {
    throw new Error(`no head video at ${headSrc}: pass --head FILE (a short clip with a person in it) or put ../shared/media beside the repo`);
  }
  const head = join(dir, 'head.mp4');
  const background = join(dir, 'background.mp4');
  const ff = (a: string[]) => execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...a], { stdio: 'inherit' });
  // As pipeline/test-support.ts makeTestClips: 1.5 s of a speaker, and a solid blue background with a tone.
  ff(['-i', headSrc, '-t', '1.5', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '18', '-pix_fmt', 'yuv420p', '-c:a', 'aac', head]);
  ff([
    '-f', 'lavfi', '-i', 'color=c=0x2050c0:s=640x360:d=1.5:r=25', '-f', 'lavfi', '-i', 'sine=f=330:d=1.5',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', background,
  ]);
  return { head, background: args.background ? resolve(args.background) : background };
}

/** The image's run configuration (podman reports the HEALTHCHECK beside Config, not in it). */
function inspect(ref: string): ImageConfig {
  const out = execFileSync('podman', ['image', 'inspect', ref], { encoding: 'utf8' });
  const img = (JSON.parse(out) as { Config: ImageConfig; Healthcheck?: ImageConfig['Healthcheck'] }[])[0]!;
  return { ...img.Config, Healthcheck: img.Healthcheck ?? img.Config.Healthcheck };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Result = Record<string, unknown>;
interface Gpu {
  url: string;
  token: string;
}

/** What every stage shares: the started processes, a promise that rejects when one dies, the result. */
class Run {
  readonly procs: Proc[] = [];
  readonly result: Result = { image, gpuImage, prefix };
  tg: FakeTelegram | null = null;
  private died: Promise<never> = new Promise(() => undefined);

  watch(p: Proc): void {
    this.procs.push(p);
    const gone = p.exited.then((code) => Promise.reject(new Error(`${p.name} exited with ${code} on its own:\n${p.output().slice(-3000)}`)));
    gone.catch(() => undefined);
    this.died = Promise.race([this.died, gone]);
  }

  /** Waits for p, or fails at once when a process died. */
  guard<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.died]);
  }

  /** guard(p), then logs `what`. */
  step<T>(what: string, p: Promise<T>): Promise<T> {
    return this.guard(p).then((v) => (say(what), v));
  }

  output(name: string): string {
    return this.procs.find((p) => p.name === name)?.output() ?? '';
  }
}

/** The GPU image's server with the CPU provider, until /health says ready. */
async function startGpuWorker(run: Run, gpuRoot: string): Promise<Gpu> {
  const cfg = inspect(gpuImage ?? 'localhost/bubblecast-gpu-worker:smoke');
  const port = await unusedPort();
  const gpu = { url: `http://127.0.0.1:${port}`, token: 'image-smoke-gpu-token-0123456789abcdef' };
  run.watch(startInImage('gpu-worker', gpuRoot, cfg, cfg.Cmd ?? [], { PORT: String(port), HOST: '127.0.0.1', GPU_WORKER_TOKEN: gpu.token, ORT_PROVIDERS: 'cpu', LOG_LEVEL: 'info' }));
  let body: Record<string, unknown> = {};
  const deadline = Date.now() + 180_000;
  for (;;) {
    await run.guard(sleep(500));
    const r = await fetch(`${gpu.url}/health`).catch(() => null);
    if (r) body = (await r.json().catch(() => ({}))) as Record<string, unknown>;
    if (body.ready === true || body.status === 'error') break;
    if (Date.now() > deadline) throw new Error(`GPU worker not ready in 180 s: ${JSON.stringify(body)}`);
  }
  run.result.gpuHealth = { status: body.status, ready: body.ready, provider: body.provider, models: body.models };
  say(`gpu-worker /health: ${JSON.stringify(run.result.gpuHealth)}`);
  if (body.ready !== true) throw new Error(`GPU worker /health: ${JSON.stringify(body)}`);
  // The image's own HEALTHCHECK command, run inside the image as the runtime would (with the server's PORT).
  const check = cfg.Healthcheck?.Test;
  if (check?.[0] === 'CMD-SHELL' || check?.[0] === 'CMD') {
    const argv = check[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', check[1]!] : check.slice(1);
    const hc = startInImage('healthcheck', gpuRoot, cfg, argv, { PORT: String(port) });
    const code = await hc.exited;
    run.result.gpuHealthcheck = code;
    say(`gpu image HEALTHCHECK → exit ${code}`);
    if (code !== 0) throw new Error(`the GPU image's HEALTHCHECK failed (exit ${code}): ${hc.output()}`);
  }
  return gpu;
}

/** The bot image's bot and worker, and one dialogue through to the finished video. */
async function botAndOneJob(run: Run, root: string, gpu: Gpu | null): Promise<void> {
  const { result } = run;
  const cfg = inspect(image ?? 'localhost/bubblecast:smoke');
  const clips = makeClips(logs);
  const tg = await startFakeTelegram({ token: TOKEN, dataDir: join(logs, 'fake-telegram') });
  run.tg = tg;
  say(`fake Bot API at ${tg.apiRoot}`);
  const botPort = await unusedPort();
  const common = { BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: tg.apiRoot, REDIS_URL: redisUrl, PIPELINE_QUEUE_PREFIX: prefix, LOG_LEVEL: 'info' };
  const processing: Record<string, string> = gpu ? { PROCESSING_MODE: 'gpu', GPU_WORKER_URL: gpu.url, GPU_WORKER_TOKEN: gpu.token } : { PROCESSING_MODE: 'cpu' };
  run.watch(startInImage('bot', root, cfg, cfg.Cmd ?? [], { ...common, PORT: String(botPort), ADMIN_IDS: '1' }));
  run.watch(startInImage('worker', root, cfg, ['node', '--import', 'tsx', 'pipeline/worker/main.ts'], { ...common, ...processing }));

  await run.step('bot polling (deleteWebhook seen)', tg.waitFor(() => tg.callsOf('deleteWebhook').length > 0, { what: 'bot start', timeoutMs: 90_000 }));
  const health = await fetch(`http://127.0.0.1:${botPort}/healthz`);
  result.healthz = health.status;
  say(`bot /healthz → ${health.status}`);
  if (!health.ok) throw new Error(`/healthz answered ${health.status}`);

  const chatId = 4_200_001;
  const from = { id: chatId, language_code: 'en' };
  const botMessage = (text: string, ms = 60_000) =>
    run.step(
      `bot said "${text.split('\n')[0]!.slice(0, 50)}"`,
      tg.waitFor(() => tg.messages(chatId).filter((m) => !m.deleted && m.history.includes(text)).at(-1)?.message, { what: text.slice(0, 40), timeoutMs: ms }),
    );
  const pickerShows = (messageId: number, text: string) =>
    tg.waitFor(() => tg.messages(chatId).find((m) => m.message.message_id === messageId)?.history.includes(text), { what: text, timeoutMs: 30_000 });

  await tg.pushUserMessage({ chatId, from, text: '/start' });
  await botMessage(en.start);
  await tg.pushUserMessage({ chatId, from, video: tg.registerFile(clips.head) });
  await botMessage(en.askBackground);
  await tg.pushUserMessage({ chatId, from, document: tg.registerFile(clips.background) });
  const picker = await botMessage(en.pick.shape);
  for (const [field, value, next] of [
    ['shape', 'circle', en.pick.position],
    ['position', 'bottomRight', en.pick.size],
    ['size', 'M', en.pick.engine],
    ['engine', 'fast', en.pick.aspect],
  ] as const) {
    tg.pushCallbackQuery({ chatId, messageId: picker.message_id, data: CB.option(field, value) });
    await run.step(`picked ${field}=${value}`, pickerShows(picker.message_id, next));
  }
  tg.pushCallbackQuery({ chatId, messageId: picker.message_id, data: CB.option('aspect', '9:16') });
  const photo = await run.step('preview photo sent', tg.waitFor(() => tg.sentFiles.find((f) => f.chatId === chatId && f.method === 'sendPhoto'), { what: 'preview photo', timeoutMs: 90_000 }));
  result.preview = { bytes: photo.size };
  tg.pushCallbackQuery({ chatId, messageId: photo.messageId, data: CB.confirm });
  const statusMsg = await botMessage(en.queued);
  const video = await run.step('the video sent', tg.waitFor(() => tg.sentFiles.find((f) => f.chatId === chatId && f.method === 'sendVideo'), { what: 'the video', timeoutMs }));
  await run.step('status: done', pickerShows(statusMsg.message_id, en.statusDone));
  result.statusHistory = tg.messages(chatId).find((m) => m.message.message_id === statusMsg.message_id)?.history.length;

  const probe = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height:format=duration', '-of', 'json', video.path], { encoding: 'utf8' }),
  ) as { streams: { codec_type: string; codec_name: string; width?: number; height?: number }[]; format: { duration: string } };
  const v = probe.streams.find((s) => s.codec_type === 'video');
  const audio = probe.streams.some((s) => s.codec_type === 'audio');
  result.video = { bytes: video.size, codec: v?.codec_name, width: v?.width, height: v?.height, duration: Number(probe.format.duration), audio, caption: video.caption };
  say(`video: ${JSON.stringify(result.video)}`);
  if (!v || !v.width || !v.height || v.height <= v.width) throw new Error('the video is not a 9:16 video stream');

  if (gpu) {
    // The overlay must have been made by the GPU image's server (PROCESSING_MODE=gpu has no CPU fallback).
    const done = run.output('gpu-worker').split('\n').filter((l) => l.includes('"msg":"job done"'));
    result.gpuJobsDone = done.length;
    result.gpuProvider = done.map((l) => (JSON.parse(l) as { provider?: string }).provider);
    if (!done.length) throw new Error('the GPU worker logged no "job done": the overlay did not run in the GPU image');
  }
}

async function main(): Promise<number> {
  await mkdir(logs, { recursive: true });
  const run = new Run();
  // Stopped from outside (Ctrl-C, image-smoke.sh's cleanup): take the processes in the image down too.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const p of run.procs) p.child.kill('SIGKILL');
      process.exit(130);
    });
  }
  const { result } = run;
  try {
    const gpu = gpuRoot ? await startGpuWorker(run, gpuRoot) : null;
    if (root) await botAndOneJob(run, root, gpu);
  } catch (e) {
    result.error = (e as Error).message;
  } finally {
    for (const p of run.procs) {
      const code = await stop(p, 30_000);
      result[`${p.name}Exit`] = code;
      say(`${p.name} stopped on SIGTERM: exit ${code}`);
      if (p.output().includes(TOKEN.split(':')[1]!)) result.error ??= `${p.name}'s output contains the bot token`;
      if (code !== 0) result.error ??= `${p.name} exited ${code} on SIGTERM`;
    }
    await run.tg?.close();
  }
  result.ok = !result.error;
  result.seconds = Math.round((Date.now() - t0) / 100) / 10;
  console.log(JSON.stringify(result));
  return result.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`drive: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
