import { defineConfig } from 'vitest/config';

// The tests that load the core modules in-process (no daemon, no browser): what StrykerJS runs
// against each mutant (`npm run test:mutation`, stryker.config.mjs). Daemon-level suites run the
// built dist/ and could not see a mutant in server/*.ts anyway.
// One module at a time, against only its tests (much faster):
//   STRYKER_TESTS=test/manifest.test.ts,test/promises-core.test.ts npx stryker run --mutate server/inference/manifest.ts
const only = process.env.STRYKER_TESTS?.split(',').filter(Boolean);
export default defineConfig({
  test: {
    include: only?.length
      ? only
      : [
          'test/promises-core.test.ts',
          'test/promises-service.test.ts',
          'test/storage.test.ts',
          'test/wire-format.test.ts',
          'test/crack-measure.test.ts',
          'test/crack-measure-exact.test.ts',
          'test/admission.test.ts',
          'test/manifest.test.ts',
          'test/atomic.test.ts',
          'test/client-messages.test.ts',
          'test/captures-log.test.ts',
          'test/ws-server.test.ts',
          'test/ws-server-rules.test.ts',
          'test/capture-protection.test.ts',
        ],
    fileParallelism: false,
    // not the 384×640 crack network (a whole frame per mutant; the small exact masks cover the same
    // code), nor the daemon-level tests of a file (they run dist/, so they cannot see a mutant, and they are slow)
    testNamePattern: /^(?!daemon: )(?!.*crack network at 384)/,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
