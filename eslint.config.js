// @ts-check
/**
 * ESLint for bubblecast: typescript-eslint's recommended rules (syntax only, no type information — `tsc --noEmit`
 * already type-checks, and this keeps `npm run lint` to ~10 s on two cores), the import boundaries below, and
 * function-length / complexity warnings. `npm test` runs it: errors fail the test command, warnings do not.
 *
 * THE ARCHITECTURE, AS IMPORTS (production code; a folder may always import its own files):
 *
 *   common/        the floor: config, errors, logger, ffmpeg, telegram, metrics. Imports no app folder.
 *   engine/        the frame engine. Imports only common/. Everyone else uses it through engine/index.js — its
 *                  files behind that (engine/frame, engine/io, engine/models, …) are its own business.
 *   shotstack/     the Shotstack client, timeline builder and local renderer. Imports only common/.
 *                  (shotstack/check.ts, an operator CLI that stores calibration readings where the pipeline reads
 *                  them, may use pipeline/config.js and pipeline/redis.js for REDIS_URL / the queue prefix.)
 *   gpu-worker/    the GPU worker service and its client. Imports engine/index.js and common/.
 *   pipeline/      the job contract and the worker. Imports common/, engine/index.js, shotstack/ (not its local
 *                  renderer, shotstack/local/, which it reaches over HTTP) and gpu-worker/client/ (never the server).
 *                  Never the bot.
 *   bot/           the Telegram bot. Imports common/, engine/index.js, shotstack/, and the pipeline only through
 *                  its surface for the bot:
 *                    pipeline/contract.js         jobs: enqueue, read, cancel, progress (everywhere in bot/)
 *                    pipeline/failures.js         the failure codes a job carries (part of the contract's vocabulary)
 *                    pipeline/admin.js,           the operator's queue operations (retry, pause, mode, stats) and
 *                    pipeline/operator-numbers.js the numbers /admin shows — the bot is the pipeline's admin UI
 *                  plus two named places:
 *                    bot/main.ts        the entry point wires the pipeline's config and metrics endpoint
 *                    bot/preview/*      the preview draws one frame with the render's own layout
 *                                       (pipeline/stages/layout.js) from the input the worker would download
 *                                       (pipeline/stages/telegram-input.js), so preview and render cannot drift
 *                  Never the worker, the keys, the stages otherwise.
 *   models-build/, quality/, scripts/, .railway/
 *                  tools at the top: may import common/ and engine/index.js (and app folders where they need to),
 *                  never engine internals.
 *   testing/       test peers (fake Telegram, media helpers). Production code never imports it; tests,
 *                  test-support files and the image smoke driver (scripts/image-smoke/) may.
 *
 *   Tests (*.test.ts, test-support) may wire folders together across these lines — that is what an integration
 *   test does — but still reach the engine only through engine/index.js (engine's own tests excepted).
 *
 * The rule is ESLint's `no-restricted-imports` with regexes over the import path as written ('../../pipeline/x.js').
 * It checks static `import`/`export … from`, not dynamic `import()`. In a flat config the last block that sets a
 * rule for a file wins (options are not merged), so each folder's block below lists everything that folder may
 * not import.
 */
import tseslint from 'typescript-eslint';

const APP = ['bot', 'pipeline', 'engine', 'shotstack', 'gpu-worker', 'models-build', 'quality', 'scripts', 'testing'];

/** An import that leaves the current folder for a top-level folder `dir` (optionally: a path inside it). */
const up = (dir, rest = '') => `^(\\.\\./)+${dir}/${rest}`;

const forbid = (dirs, message) => dirs.map((d) => ({ regex: up(d), message }));
const TESTING = { regex: up('testing'), message: 'Production code never imports testing/ (test peers and helpers).' };
const ENGINE_INTERNALS = {
  regex: up('engine', '(?!index\\.js$)'),
  message: 'Use the engine through its public API, engine/index.js.',
};

/** `no-restricted-imports` for one folder: the top-level folders it may not import plus extra patterns. */
const boundaries = (notFolders, extra = [], why = 'nothing imports upward — see the top of eslint.config.js') => [
  'error',
  {
    patterns: [...forbid(notFolders.filter((d) => d !== 'testing'), `This folder does not import from there: ${why}.`), TESTING, ...extra],
  },
];

const others = (...allowed) => APP.filter((d) => !allowed.includes(d));

/** bot/ → pipeline/: the surface every bot file may use, plus per-file additions. */
const BOT_PIPELINE_SURFACE = ['contract', 'failures', 'admin', 'operator-numbers'];
const botPipeline = (...more) => ({
  regex: up('pipeline', `(?!(${[...BOT_PIPELINE_SURFACE, ...more].map((p) => p.replace(/\./g, '\\.')).join('|')})\\.js$)`),
  message:
    'The bot reaches the pipeline through pipeline/contract.js (plus failures, admin, operator-numbers); see the top of eslint.config.js.',
});
const botRule = (...more) =>
  boundaries(others('engine', 'shotstack', 'pipeline'), [ENGINE_INTERNALS, botPipeline(...more)], 'the bot imports common/, engine/index.js, shotstack/ and the pipeline surface');

const TESTS = ['**/*.test.ts', '**/test-support.ts', '**/test-support/**', 'testing/**', 'scripts/image-smoke/**'];

export default tseslint.config(
  // AssemblyScript (engine/kernels/assembly): compiled and checked by asc in `npm run models`, not by tsc/ESLint.
  { ignores: ['node_modules/', 'models/', 'tmp/', 'out/', '.scratch/', 'coverage/', 'engine/kernels/assembly/'] },
  ...tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A leading underscore marks a binding kept on purpose: `const { secret: _secret, ...rest } = o` to drop a
      // key, `(_req, res) =>` for a positional parameter. Everything else unused is an error.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Function length and branching: warnings, to point a reader at what to split — never a failed test.
      'max-lines-per-function': ['warn', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
      complexity: ['warn', 20],
    },
  },
  {
    // These files walk untyped JSON from outside (ffprobe's output, Shotstack's error bodies and edit JSON, the Bot
    // API's parameters in a test peer) key by key; `Record<string, any>` is the honest type for that walk.
    // Elsewhere `any` stays an error.
    files: [
      'common/ffmpeg.ts',
      'shotstack/http.ts',
      'shotstack/local/plan.ts',
      'shotstack/local/shape.ts',
      'shotstack/local/validation.ts',
      'testing/media.ts',
      'bot/test-support/recording-fetch.ts',
    ],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },

  // ---- import boundaries (production code) ----
  { files: ['common/**/*.ts'], rules: { 'no-restricted-imports': boundaries(APP, [], 'common/ is the floor') } },
  { files: ['engine/**/*.ts'], rules: { 'no-restricted-imports': boundaries(others(), [], 'the engine imports only common/') } },
  { files: ['shotstack/**/*.ts'], rules: { 'no-restricted-imports': boundaries(others('shotstack'), [], 'shotstack/ imports only common/') } },
  {
    files: ['shotstack/check.ts'],
    rules: {
      'no-restricted-imports': boundaries(others('shotstack', 'pipeline'), [
        { regex: up('pipeline', '(?!(config|redis)\\.js$)'), message: 'shotstack/check.ts may use pipeline/config.js and pipeline/redis.js only.' },
      ]),
    },
  },
  {
    files: ['gpu-worker/**/*.ts'],
    rules: { 'no-restricted-imports': boundaries(others('engine', 'gpu-worker'), [ENGINE_INTERNALS], 'the GPU worker imports engine/index.js and common/') },
  },
  {
    files: ['pipeline/**/*.ts'],
    rules: {
      'no-restricted-imports': boundaries(
        others('engine', 'shotstack', 'gpu-worker', 'pipeline'),
        [
        ENGINE_INTERNALS,
        { regex: up('gpu-worker', '(?!client/)'), message: 'The pipeline uses the GPU worker through gpu-worker/client/.' },
        { regex: up('shotstack', 'local/'), message: 'The pipeline reaches the local renderer over HTTP, not by import.' },
        ],
        'the pipeline never imports the bot',
      ),
    },
  },
  { files: ['bot/**/*.ts'], rules: { 'no-restricted-imports': botRule() } },
  { files: ['bot/main.ts'], rules: { 'no-restricted-imports': botRule('config', 'metrics-endpoint') } },
  { files: ['bot/preview/**/*.ts'], rules: { 'no-restricted-imports': botRule('stages/layout', 'stages/telegram-input') } },
  {
    files: ['models-build/**/*.ts', 'quality/**/*.ts', 'scripts/**/*.ts', '.railway/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [TESTING, ENGINE_INTERNALS] }] },
  },

  // ---- tests: may wire folders together and use testing/, but the engine only through its public API ----
  { files: TESTS, rules: { 'no-restricted-imports': ['error', { patterns: [ENGINE_INTERNALS] }] } },
  {
    // A describe() block is one long function by design. Test peers (testing/*.ts, the fake Bot API) are not
    // exempt: they are read like production code.
    files: ['**/*.test.ts', '**/test-support.ts', '**/test-support/**'],
    rules: { 'max-lines-per-function': 'off', complexity: 'off' },
  },
  { files: ['engine/**/*.test.ts', 'engine/**/test-support.ts'], rules: { 'no-restricted-imports': 'off' } },
);
