import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { E2BStandInSandbox } from '../../local/e2b-standin'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, createSession, fixtureRepo, standInSandboxesOf, waitFor, waitForStatus } from '../helpers'

/**
 * The Worker restarted (as a deploy does) while sandboxes are being made, on E2B: every sandbox
 * is recorded the moment its create returns, so what the restart cut off half-way is killed on
 * the next start, and nothing is left billing until its E2B timeout. The setups below wait for a
 * file the test writes into the sandbox's workspace, so the restart lands mid-setup.
 */

const E2B_KEY = 'e2b_restart_key_0123456789abcdef'
/** A setup that waits for the test's go. */
const WAIT_FOR_GO = 'while [ ! -f go ]; do sleep 0.1; done'
/** Pool and session wakes come often, so that the many rounds below take seconds. */
const TIMINGS = { wakeMs: 2_000 }
const POOL_SIZE = 3

let own: OwnStack
let repo: string

const standIn = () => own.stack.e2b!
const pooled = () => standIn().list().filter((s) => s.metadata.pool === 'repo')
/** Lets the sandbox's setup go on; written once the clone is there (a clone wants an empty folder). */
const cloned = (sb: E2BStandInSandbox) => existsSync(join(sb.home, 'workspace', '.git'))
const go = (sb: E2BStandInSandbox) => {
  if (cloned(sb)) writeFileSync(join(sb.home, 'workspace', 'go'), '')
}
const repoHealth = async () => (await api('/health', { key: null })).body.repoPools as { target: number; ready: number }

beforeAll(async () => {
  repo = fixtureRepo('e2b-restart', { 'README.md': 'restart\n' })
  own = await startOwnStack(
    'e2b-restart',
    { WARM_POOLS: JSON.stringify([{ repo: `file://${repo}`, setup: WAIT_FOR_GO, size: POOL_SIZE }]), TIMINGS: JSON.stringify(TIMINGS) },
    { e2bStandIn: { apiKey: E2B_KEY }, scriptedModel: true },
  )
})

afterAll(async () => {
  await own?.close()
  rmSync(repo, { recursive: true, force: true })
})

it('leaves no pool sandbox outside a record across many alarm rounds and a restart mid-setup: the half-made one is killed', async () => {
  // The pool makes its sandboxes one at a time, an alarm round each; the first waits in its setup.
  const [cutOff] = await waitFor('the pool to reach a setup', async () => (pooled().some(cloned) ? pooled() : undefined), 60_000)
  await own.stack.restartWorker()
  // Every setup from now on may go on; the pool fills round by round.
  await waitFor(
    'the pool to fill after the restart',
    async () => {
      for (const sb of pooled()) if (sb.sandboxId !== cutOff!.sandboxId) go(sb)
      return (await repoHealth()).ready === POOL_SIZE
    },
    120_000,
  )
  await waitFor('the half-made sandbox to be killed', async () => !standIn().list().some((s) => s.sandboxId === cutOff!.sandboxId))
  expect(pooled()).toHaveLength(POOL_SIZE)
  // Every create of the pool made a sandbox that is in the pool or was killed: none billing unrecorded.
  const made = standIn().calls('create').filter((c) => c.metadata?.pool === 'repo' && c.sandboxId)
  const killed = new Set(standIn().calls('kill').map((c) => c.sandboxId))
  const live = new Set(pooled().map((s) => s.sandboxId))
  expect(made.filter((c) => !live.has(c.sandboxId!) && !killed.has(c.sandboxId))).toEqual([])
  expect(made.length).toBeGreaterThanOrEqual(POOL_SIZE + 1)
})

it('keeps a session to exactly one sandbox when the Worker restarts mid-setup: the half-made one is killed, a new one made', async () => {
  // Another setup than the pool's, so the session makes its own sandbox.
  const id = await createSession({ repo: { url: `file://${repo}` }, setup: `${WAIT_FOR_GO}; true` })
  const [cutOff] = await waitFor('the session to reach its setup', async () => {
    const made = standInSandboxesOf(standIn(), id)
    return made.some(cloned) ? made : undefined
  })
  await own.stack.restartWorker()
  await waitFor(
    'the session to be ready on a new sandbox',
    async () => {
      for (const sb of standInSandboxesOf(standIn(), id)) if (sb.sandboxId !== cutOff!.sandboxId) go(sb)
      return (await api(`/v1/sessions/${id}`)).body.status === 'idle'
    },
    120_000,
  )
  await waitFor('the half-made sandbox to be killed', async () => !standIn().list().some((s) => s.sandboxId === cutOff!.sandboxId))
  const sandboxes = standInSandboxesOf(standIn(), id)
  expect(sandboxes).toHaveLength(1)
  expect(sandboxes[0]!.sandboxId).not.toBe(cutOff!.sandboxId)
  await waitForStatus(id, 'idle')
})
