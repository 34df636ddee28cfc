import { createHash } from 'node:crypto'
import { inject } from 'vitest'

/** The third and fourth are the usage tests' alone (test/e2e/usage*.test.ts), so that they can count their tenants' usage exactly. */
export const TEST_KEYS = ['test-key-alpha', 'test-key-beta', 'test-key-gamma', 'test-key-delta'] as const

/** A key's tenant id, as the Worker makes it (`t_` and the first 32 hex digits of its SHA-256) and GITHUB_TENANT_REPOS names it. */
export const tenantIdOf = (key: string) => `t_${createHash('sha256').update(key).digest('hex').slice(0, 32)}`
export const CANARY_PROVIDER_KEY = 'sk-canary-provider-key-0123456789'
export const WEBHOOK_SECRET = 'whsec-test-secret'
export const CALLBACK_SECRET = 'cbsec-test-secret'
/** Low, so that a test reaches it with few runs; each test uses a repository of its own. */
export const GITHUB_MAX_RUNS_PER_HOUR = 2
export const GITHUB_WEBHOOK_SECRET = 'gh-hook-test-secret'

type Target = { workerUrl: string; sandboxHostUrl: string; sandboxHostToken: string }
let target: Target | undefined

/** Points the helpers at a stack a test file started itself, instead of the shared one. */
export function useStack(t: Target) {
  target = t
}

/** The stack the helpers talk to: the file's own, else the one test/e2e/global-setup.ts shares. */
export const currentStack = (): Target =>
  target ?? { workerUrl: inject('workerUrl'), sandboxHostUrl: inject('sandboxHostUrl'), sandboxHostToken: inject('sandboxHostToken') }

export const baseUrl = () => currentStack().workerUrl

/** The shared stack's scripted model, without its /v1, where its test routes (/_requests, /_keys) are. */
export const modelBase = () => inject('modelUrl').replace(/\/v1$/, '')
