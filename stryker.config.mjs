// Mutation testing of the core modules (issue 21): `npm run test:mutation`. Too slow for every CI
// run (about an hour on 2 shared cores); run it when these modules or their tests change, and
// keep the per-module scores in BENCHMARKS.md up to date. Report: reports/mutation/ (HTML, JSON).
// One module or a few: npm run test:mutation -- --mutate server/protocol/wire-format.ts
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.stryker.config.ts', related: false },
  mutate: [
    'server/analysis/crack-measure.ts', // analysis
    'server/storage/captures.ts', // storage
    'server/storage/atomic.ts',
    'server/protocol/wire-format.ts', // wire format
    'server/protocol/client-messages.ts',
    'server/http/admission.ts', // request admission
    'server/http/admin-auth.ts',
    'server/stream/ws-server.ts', // WebSocket server
    'server/camera/gst-source.ts', // the capture source's frame handling
    'server/inference/manifest.ts', // manifest checks
  ],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 15_000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
