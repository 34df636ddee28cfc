import { readdirSync, readlinkSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ownStackForFile } from '../helpers/own-stack'
import { api, EventStream, logEvents, streamFromNow, newIdleSession, processAlive, sandboxesOf, waitFor, type SandboxListing } from '../helpers'
import { seededRandom } from '../../local/seeded-random'
import { sleep } from '../../src/lib/sleep'
import { FAULTS_OPTIONS, FAULTS_SETTINGS } from './settings'

/**
 * A delete is final whenever it lands (docs/operations.md, "When things break"): here while a session's
 * sandbox is being recovered after its agent was killed, and while that agent restarts, at
 * moments drawn from a seeded random. A failure prints its seed; RANDOM_DELETES_SEED replays it.
 */

const own = ownStackForFile('random-deletes', FAULTS_SETTINGS, FAULTS_OPTIONS)

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

/**
 * After a delete the session stays ended, takes no message, and leaves no sandbox nor any of its
 * processes. `stream` followed the session from before the fault: the work was still under way
 * when the delete landed (it never said the sandbox was ready again, and it came to its end only
 * after the delete), and nothing it did once back undid the end.
 */
async function expectEndedForGood(id: string, sandbox: SandboxListing, stream: EventStream, moment: string) {
  const where = `session ${id}, deleted ${moment} (seed ${SEED})`
  const workOver = () => logEvents(own().logFile).filter((l) => l.event === 'sandbox.work' && l.state !== 'started' && l.sessionId === id)
  const over = await waitFor(`${where}: the work the delete cut short to come to its end`, () => workOver().find((l) => l.over === true))
  expect(over, where).toBeDefined()
  await waitFor(`${where}: no sandbox nor process left`, async () => (await sandboxesOf(id)).length === 0 && processesIn(sandbox).length === 0)
  const ended = await stream.until((e) => e.event === 'session.ended')
  const before = stream.events.filter((e) => e.id! < ended.id!)
  expect(before.filter((e) => e.event === 'sandbox.status').map((e) => e.data.state), where).not.toContain('ready')
  expect((await api(`/v1/sessions/${id}`)).body.status, where).toBe('ended')
  expect((await api(`/v1/sessions/${id}/messages`, { body: { text: 'still there?' } })).status, where).toBe(409)
  expect(await sandboxesOf(id), where).toEqual([])
  expect(processesIn(sandbox), where).toEqual([])
  expect(processAlive(sandbox.opencodePid!), where).toBe(false)
  // Nothing was said after the end, though the work came back after it: an ended session's stream ends once caught up.
  const after = new EventStream(id, { after: ended.id })
  await waitFor(`${where}: the ended session's stream to end`, () => after.ended)
  expect(after.events.map((e) => e.event), where).toEqual([])
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

// The seeded moment is a delay on purpose: where the delete lands is what each run varies. Each
// range is shorter than the work it lands in takes (a probe of a dead agent alone waits 2 s, an
// opencode boot about 2.5 s), and expectEndedForGood checks that the work was still under way.
describe('a delete at a random moment', () => {
  it('while the sandbox is being recovered after its agent was killed: each session stays ended with nothing left', async () => {
    const sessions = await idleSessions(3)
    await Promise.all(
      sessions.map(async ({ id, sandbox }) => {
        const moment = momentIn(3_000)
        const stream = await streamFromNow(id)
        const recoveries = () => logEvents(own().logFile).filter((l) => l.event === 'sandbox.work' && l.work === 'recover' && l.state === 'started' && l.sessionId === id).length
        const before = recoveries()
        try {
          process.kill(sandbox.opencodePid!, 'SIGKILL')
          // The moment counts from when the session took up its recovery: a delete a few ms after the
          // kill can come before the session has noticed it, and then there is no work to cut short.
          await waitFor(`session ${id} to begin its recovery (seed ${SEED})`, () => recoveries() > before)
          await sleep(moment)
          expect((await del(id)).status).toBe(200)
          await expectEndedForGood(id, sandbox, stream, `${moment} ms into its recovery after its agent was killed`)
        } finally {
          await stream.close()
        }
      }),
    )
  })

  it('while its agent restarts: each session stays ended with nothing left', async () => {
    const sessions = await idleSessions(3)
    await Promise.all(
      sessions.map(async ({ id, sandbox }) => {
        const moment = momentIn(2_000)
        const stream = await streamFromNow(id)
        try {
          process.kill(sandbox.opencodePid!, 'SIGKILL')
          await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'restarting')
          await sleep(moment)
          expect((await del(id)).status).toBe(200)
          await expectEndedForGood(id, sandbox, stream, `${moment} ms into its agent's restart`)
        } finally {
          await stream.close()
        }
      }),
    )
  })
})
