import { defineConfig } from 'vitest/config';

// The tests that load the core modules in-process (no daemon, no browser): what StrykerJS runs
// against each mutant (`npm run test:mutation`, stryker.config.mjs). Daemon-level suites run the
// built dist/ and could not see a mutant in server/*.ts anyway.
export default defineConfig({
  test: {
    include: [
      'test/promises-core.test.ts', 'test/promises-service.test.ts', 'test/storage.test.ts',
      'test/wire-format.test.ts', 'test/crack-measure.test.ts', 'test/admission.test.ts',
    ],
    fileParallelism: false,
    // timing checks (analyzeMask's speed) measure the instrumented code on a loaded machine: not here
    testNamePattern: /^(?!.*\bspeed at\b)/,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
