import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'
import LongestFirst from './test/order/longest-first.ts'

/** Each test file that runs sessions ends those it left open (test/helpers/end-sessions.ts). */
const SESSIONS = ['test/helpers/end-sessions.ts']

/** How many test files that run sessions go at once. */
const SESSION_FILES = 4
/** Longer than vitest's 5 s: a few of these move megabytes or run git, which a busy machine slows well past it. */
const quick = { maxWorkers: 2, testTimeout: 30_000, sequence: { groupOrder: 0 } }
/**
 * The unit files share their modules (no isolation): they hold no state between files, and loading
 * the same modules afresh for each of a hundred files cost more CPU than their tests. (The stand-in's
 * files do hold some: they stay isolated.)
 */
const shared = { isolate: false }
const withSessions = { maxWorkers: SESSION_FILES, sequence: { groupOrder: 1 } }

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
 * The quick projects run first; then every project that runs sessions at once, in one group whose
 * maxWorkers bounds how many files share a CI machine's two cores (vitest gives a group one
 * bound). Most end-to-end time is spent waiting on turns, timers and restarts, so the files of
 * one project fill the waits of another; the longest files of any project go first
 * (test/order/longest-first.ts). (Run last in the same group, the quick files waited for the
 * long ones to free their places and lengthened the run.)
 */
export default defineConfig({
  test: {
    reporters: ['default', './test/reporters/project-times.ts'],
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'local/**/*.test.ts', 'scripts/**/*.test.ts', 'bench/**/*.test.ts'],
          environment: 'node',
          ...quick,
          ...shared,
        },
      },
      {
        test: {
          name: 'standin',
          include: ['test/standin/**/*.test.ts'],
          environment: 'node',
          ...quick,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // a tenant cost cap, so that the tenant index's reservations hold against one
        plugins: [cloudflareTest({ wrangler: { configPath: './wrangler.toml' }, miniflare: { bindings: { TENANT_MAX_COST_USD_PER_DAY: '1' } } })],
        test: {
          name: 'worker',
          include: ['test/worker/**/*.test.ts'],
          ...quick,
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
          ...withSessions,
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
          ...withSessions,
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
          ...withSessions,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/browser/launch.ts'],
          setupFiles: SESSIONS,
          testTimeout: 180_000,
          hookTimeout: 180_000,
          ...withSessions,
        },
      },
    ],
  },
})
