import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { configureLogging, createConfigurableLogger, createLogger, logger, loggerOptions, REDACT_CENSOR, scrubSecrets, type CreateLoggerOptions } from './logger.js';

/** The logger's redaction, on the lines it really writes (an in-memory destination, the processes' own options). */
const BOT_TOKEN = '7512340099:AAHkq3Zr-BOTTOKEN-9fXw2LmNpQrStUvWxYz01';
const GPU_TOKEN = 'gpu-WORKERTOKEN-6c1f0e2d9b8a7f6e5d4c';
const API_KEY = 'ss-APIKEY-Q4w8E2r6T0y3U7i1O5p9';
const S3_SIGNATURE = 'f00dfacecafe0123456789abcdef0123456789abcdef0123456789abcdef0123';
const S3_CREDENTIAL = 'AKIAEXAMPLEKEY42%2F20260101%2Fus-east-1%2Fs3%2Faws4_request';
const S3_URL =
  `https://shotstack-ingest-api-stage-sources.s3.ap-southeast-2.amazonaws.com/abc/source.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256` +
  `&X-Amz-Credential=${S3_CREDENTIAL}&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-Signature=${S3_SIGNATURE}&X-Amz-SignedHeaders=host`;
const FILE_URL = `https://api.telegram.org/file/bot${BOT_TOKEN}/videos/file_42.mp4`;
const SECRETS = [BOT_TOKEN, BOT_TOKEN.split(':')[1]!, GPU_TOKEN, API_KEY, S3_SIGNATURE, S3_CREDENTIAL];

function captured(o: CreateLoggerOptions = { level: 'trace' }) {
  const lines: string[] = [];
  const log = createLogger(o, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  return { log, lines };
}

/** Logs the things a careless caller could log, through `log`. */
function logCarelessly(log: pino.Logger): void {
  log.info({ headers: { authorization: `Bearer ${GPU_TOKEN}`, 'x-gpu-worker-token': GPU_TOKEN, 'x-api-key': API_KEY } }, 'flat headers');
  log.info({ req: { method: 'POST', headers: { authorization: `Bearer ${GPU_TOKEN}`, 'x-gpu-worker-token': GPU_TOKEN } } }, 'request');
  log.warn({ err: { response: { config: { headers: { Authorization: `Bearer ${GPU_TOKEN}`, 'X-Api-Key': API_KEY, 'X-GPU-Worker-Token': GPU_TOKEN } } } } }, 'deep');
  log.debug({ token: BOT_TOKEN, apiKey: API_KEY, telegram: { botToken: BOT_TOKEN }, nested: { deeper: { still: { apiKey: API_KEY } } } }, 'fields');
  log.debug({ url: S3_URL }, 'uploading');
  log.debug(`PUT ${S3_URL} failed`);
  log.info({ fileUrl: FILE_URL, link: FILE_URL }, `downloading ${FILE_URL}`);
  log.error(new Error(`GET https://api.telegram.org/bot${BOT_TOKEN}/getFile: fetch failed (Authorization: Bearer ${GPU_TOKEN})`));
  log.child({ jobId: 'chat1-msg2', token: GPU_TOKEN, headers: { authorization: `Bearer ${GPU_TOKEN}` } }).info('child bindings');
  log.info(`token in text: ${BOT_TOKEN}`);
}

describe('logger redaction', () => {
  it('control: a pino logger without our options writes every secret (so the checks below can fail)', () => {
    const lines: string[] = [];
    logCarelessly(pino({ level: 'trace' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) })));
    const all = lines.join('');
    for (const s of SECRETS) expect(all).toContain(s);
  });

  it('headers at any depth, credential fields, signed URLs, Telegram file/API URLs, errors and child bindings', () => {
    const { log, lines } = captured();
    logCarelessly(log);
    expect(lines).toHaveLength(10);
    const all = lines.join('');
    for (const s of SECRETS) expect(all).not.toContain(s);

    const [flat, req, deep, fields, uploading, putFailed, downloading, error, child, text] = lines.map((l) => JSON.parse(l));
    expect(flat.headers).toEqual({ authorization: REDACT_CENSOR, 'x-gpu-worker-token': REDACT_CENSOR, 'x-api-key': REDACT_CENSOR });
    expect(req.req).toEqual({ method: 'POST', headers: { authorization: REDACT_CENSOR, 'x-gpu-worker-token': REDACT_CENSOR } });
    expect(deep.err.response.config.headers).toEqual({ Authorization: REDACT_CENSOR, 'X-Api-Key': REDACT_CENSOR, 'X-GPU-Worker-Token': REDACT_CENSOR });
    expect(fields).toMatchObject({ token: REDACT_CENSOR, apiKey: REDACT_CENSOR, telegram: { botToken: REDACT_CENSOR }, nested: { deeper: { still: { apiKey: REDACT_CENSOR } } } });
    // A signed URL keeps what helps debugging (host, path, non-secret parameters) and loses its signature.
    const scrubbedS3 = new URL(uploading.url);
    expect(scrubbedS3.host).toBe('shotstack-ingest-api-stage-sources.s3.ap-southeast-2.amazonaws.com');
    expect(scrubbedS3.searchParams.get('X-Amz-Signature')).toBe(REDACT_CENSOR);
    expect(scrubbedS3.searchParams.get('X-Amz-Credential')).toBe(REDACT_CENSOR);
    expect(scrubbedS3.searchParams.get('X-Amz-Date')).toBe('20260101T000000Z');
    expect(putFailed.msg).toContain('X-Amz-Signature=[redacted]');
    expect(downloading.msg).toBe(`downloading https://api.telegram.org/file/bot${REDACT_CENSOR}/videos/file_42.mp4`);
    expect(downloading.fileUrl).toBe(REDACT_CENSOR);
    expect(downloading.link).toBe(`https://api.telegram.org/file/bot${REDACT_CENSOR}/videos/file_42.mp4`);
    expect(error.msg).toBe(`GET https://api.telegram.org/bot${REDACT_CENSOR}/getFile: fetch failed (Authorization: Bearer ${REDACT_CENSOR})`);
    expect(error.err.stack).toContain(`/bot${REDACT_CENSOR}/getFile`);
    expect(child).toMatchObject({ jobId: 'chat1-msg2', token: REDACT_CENSOR, headers: { authorization: REDACT_CENSOR }, msg: 'child bindings' });
    expect(text.msg).toBe(`token in text: ${REDACT_CENSOR}`);
  });

  it('scrubSecrets leaves ordinary text alone and keeps JSON valid', () => {
    const ordinary = JSON.stringify({
      msg: 'render submitted',
      url: 'http://127.0.0.1:45678/edit/stage/render/abc?data=false',
      jobId: 'chat-1001234-msg56',
      time: '2026-01-01T12:34:56.789Z',
      note: 'Bearer of good news',
    });
    expect(scrubSecrets(ordinary)).toBe(ordinary);
    const local = `{"url":"http://127.0.0.1:4550/upload/id-1?expires=1700000000000&signature=${S3_SIGNATURE}","msg":"x \\"token\\""}`;
    const scrubbed = scrubSecrets(local);
    expect(scrubbed).not.toContain(S3_SIGNATURE);
    expect(JSON.parse(scrubbed).url).toBe(`http://127.0.0.1:4550/upload/id-1?expires=1700000000000&signature=${REDACT_CENSOR}`);
    expect(scrubSecrets('"x-api-key":"k\\"ey","other":"v"')).toBe(`"x-api-key":"${REDACT_CENSOR}","other":"v"`);
  });

  it('createLogger is pure: level and service come from its arguments, not the environment', () => {
    expect(createLogger({ level: 'trace' }, new Writable({ write: (_c, _e, cb) => cb() })).level).toBe('trace');
    const { log, lines } = captured({ level: 'warn', service: 'svc-x' });
    log.info('dropped');
    log.warn('kept');
    expect(lines.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ service: 'svc-x', msg: 'kept', level: 40 })]);
    expect(loggerOptions().level).toBe('info');
    // The root logger was configured by the test entry point (testing/vitest-setup.ts): silent unless LOG_LEVEL says.
    expect(logger.level).toBe(process.env.LOG_LEVEL ?? 'silent');
  });

  it('configure reaches children made before it: their level and their service field follow', () => {
    const lines: string[] = [];
    const { logger: root, configure } = createConfigurableLogger(new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    // What a module does at import, before the entry point has read its config.
    const early = root.child({ component: 'early' });
    const grandchild = early.child({ jobId: 'j1' });
    early.info('before configure');
    configure({ level: 'warn', service: 'worker' });
    const late = root.child({ component: 'late' });
    for (const log of [early, grandchild, late]) {
      log.info('dropped');
      log.warn('kept');
    }
    configure({ level: 'debug', service: 'bot' });
    grandchild.debug({ token: BOT_TOKEN }, 'after reconfigure');
    const got = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(got.map((l) => [l.msg, l.service, l.component])).toEqual([
      ['before configure', 'bubblecast', 'early'],
      ['kept', 'worker', 'early'],
      ['kept', 'worker', 'early'],
      ['kept', 'worker', 'late'],
      ['after reconfigure', 'bot', 'early'],
    ]);
    expect(got[2]).toMatchObject({ jobId: 'j1' });
    // Redaction and the line shape stay those of every bubblecast logger: no pid/hostname, the secret censored.
    expect(got[4]).toMatchObject({ token: REDACT_CENSOR, level: 20 });
    expect(got[0]).not.toHaveProperty('pid');
    expect(lines.join('')).not.toContain(BOT_TOKEN);
  });

  it('configureLogging sets the root logger for children made at import time', () => {
    const before = logger.level;
    const early = logger.child({ component: 'made-before' });
    try {
      configureLogging({ level: 'error', service: 'svc-root' });
      expect(early.level).toBe('error');
      expect(early.isLevelEnabled('warn')).toBe(false);
      configureLogging({ level: 'debug', service: 'svc-root' });
      expect(early.isLevelEnabled('debug')).toBe(true);
    } finally {
      configureLogging({ level: before as 'silent', service: 'bubblecast' });
    }
  });
});
