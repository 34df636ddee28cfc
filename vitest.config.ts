import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'

/** Each test file that runs sessions ends those it left open (test/helpers/end-sessions.ts). */
const SESSIONS = ['test/helpers/end-sessions.ts']

/**
 * Kinds of tests, one command:
 * - unit: pure decisions, in Node, next to the code they test;
 * - standin: the E2B stand-in against the real e2b SDK, in Node;
 * - worker: storage modules inside workerd, against real Durable Object SQLite;
 * - e2e: HTTP against the whole local stack (wrangler dev, sandbox host, real opencode,
 *   scripted model), started once by test/e2e/global-setup.ts;
 * - faults: the same stack with faults injected (processes killed, connections cut, the
 *   Worker restarted); each file starts its own stack (`npm run test:faults`);
 * - e2b: the same flows with SANDBOX_PROVIDER=e2b, the real SDK against the E2B stand-in;
 * - browser: the playground and docs in Chromium through Playwright, against its own stack (a
 *   system Chromium, else the one in the @sparticuz/chromium dev dependency).
 *
 * Every project runs at once. Most end-to-end time is spent waiting on turns, timers and
 * restarts, so the files of one project fill the waits of another; each project's maxWorkers
 * bounds how many of its files share a CI machine's two cores, the total bounds them all.
 */
export default defineConfig({
  test: {
    reporters: ['default', './test/reporters/project-times.ts'],
    maxWorkers: 7,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'local/**/*.test.ts', 'scripts/**/*.test.ts', 'bench/**/*.test.ts'],
          environment: 'node',
          maxWorkers: 1,
        },
      },
      {
        test: {
          name: 'standin',
          include: ['test/standin/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          maxWorkers: 1,
        },
      },
      {
        plugins: [cloudflareTest({ wrangler: { configPath: './wrangler.toml' } })],
        test: {
          name: 'worker',
          include: ['test/worker/**/*.test.ts'],
          maxWorkers: 1,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/e2e/global-setup.ts'],
          setupFiles: SESSIONS,
          testTimeout: 120_000,
          hookTimeout: 180_000,
          maxWorkers: 3,
        },
      },
      {
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          environment: 'node',
          setupFiles: SESSIONS,
          testTimeout: 180_000,
          hookTimeout: 180_000,
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'e2b',
          include: ['test/e2b/**/*.test.ts'],
          environment: 'node',
          setupFiles: SESSIONS,
          testTimeout: 180_000,
          hookTimeout: 180_000,
          maxWorkers: 1,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          setupFiles: SESSIONS,
          testTimeout: 180_000,
          hookTimeout: 180_000,
          maxWorkers: 1,
        },
      },
    ],
  },
})
