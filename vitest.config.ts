import { defineConfig } from 'vitest/config';

// Tests start real daemons, GStreamer pipelines and Chromium on a 2-core machine: run files one at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 90_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
