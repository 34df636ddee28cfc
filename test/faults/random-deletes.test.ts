import { readdirSync, readlinkSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ownStackForFile } from '../helpers/own-stack'
import { api, EventStream, newIdleSession, processAlive, sandboxesOf, waitFor, type SandboxListing } from '../helpers'
import { seededRandom } from '../../local/seeded-random'
import { sleep } from '../../src/lib/sleep'

/**
 * A delete is final whenever it lands (README, "When things break"): here while a session's
 * sandbox is being recovered after its agent was killed, and while that agent restarts, at
 * moments drawn from a seeded random. A failure prints its seed; RANDOM_DELETES_SEED replays it.
 */

ownStackForFile('random-deletes', {}, { faultInjection: true })

const SEED = Number(process.env.RANDOM_DELETES_SEED) || Date.now() % 2 ** 31
console.log(`random deletes: seed ${SEED} (RANDOM_DELETES_SEED=${SEED} replays it)`)

const random = seededRandom(SEED)
const momentIn = (maxMs: number) => Math.floor(random() * maxMs)

/** Live processes working in the sandbox's folder: its opencode, restarted or not, and what that started. */
function processesIn(sandbox: SandboxListing): number[] {
  return readdirSync('/proc')
    .map(Number)
    .filter((pid) => {
      try {
        return Number.isInteger(pid) && readlinkSync(`/proc/${pid}/cwd`).startsWith(sandbox.workdir) && processAlive(pid)
      } catch {
        return false
      }
    })
}

/** After a delete the session stays ended, takes no message, and leaves no sandbox nor any of its processes. */
async function expectEndedForGood(id: string, sandbox: SandboxListing, moment: string) {
  const where = `session ${id}, deleted ${moment} (seed ${SEED})`
  await waitFor(`${where}: no sandbox nor process left`, async () => (await sandboxesOf(id)).length === 0 && processesIn(sandbox).length === 0)
  expect((await api(`/v1/sessions/${id}`)).body.status, where).toBe('ended')
  expect((await api(`/v1/sessions/${id}/messages`, { body: { text: 'still there?' } })).status, where).toBe(409)
  // Whatever the recovery still awaited has had time to come back and must not undo the end.
  await sleep(3_000)
  expect((await api(`/v1/sessions/${id}`)).body.status, where).toBe('ended')
  expect(await sandboxesOf(id), where).toEqual([])
  expect(processesIn(sandbox), where).toEqual([])
  expect(processAlive(sandbox.opencodePid!), where).toBe(false)
}

const del = (id: string) => api(`/v1/sessions/${id}`, { method: 'DELETE' })

/** Idle sessions with their sandbox, made side by side. */
async function idleSessions(n: number): Promise<{ id: string; sandbox: SandboxListing }[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const id = await newIdleSession()
      const [sandbox] = await sandboxesOf(id)
      return { id, sandbox: sandbox! }
    }),
  )
}

describe('a delete at a random moment', () => {
  it('while the sandbox is being recovered after its agent was killed: each session stays ended with nothing left', async () => {
    const sessions = await idleSessions(3)
    await Promise.all(
      sessions.map(async ({ id, sandbox }) => {
        const moment = momentIn(3_000)
        process.kill(sandbox.opencodePid!, 'SIGKILL')
        await sleep(moment)
        expect((await del(id)).status).toBe(200)
        await expectEndedForGood(id, sandbox, `${moment} ms after its agent was killed`)
      }),
    )
  })

  it('while its agent restarts: each session stays ended with nothing left', async () => {
    const sessions = await idleSessions(3)
    await Promise.all(
      sessions.map(async ({ id, sandbox }) => {
        const moment = momentIn(5_000)
        const stream = new EventStream(id)
        try {
          process.kill(sandbox.opencodePid!, 'SIGKILL')
          await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'restarting')
          await sleep(moment)
          expect((await del(id)).status).toBe(200)
        } finally {
          await stream.close()
        }
        await expectEndedForGood(id, sandbox, `${moment} ms into its agent's restart`)
      }),
    )
  })
})
