import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    // Every answer any test receives is checked against its call's result schema (see Lightbox.call).
    // Tests that do not choose a Lightbox home get one under test-output, never the user's ~/.lightbox.
    env: { LIGHTBOX_CHECK_RESULTS: '1', LIGHTBOX_HOME: path.resolve(import.meta.dirname, 'test-output/home') },
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'src/**/*.test.ts'], testTimeout: 30_000 } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false } },
    ],
  },
});
