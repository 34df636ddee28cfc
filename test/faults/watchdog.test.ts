import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ownStackForFile } from '../helpers/own-stack'
import { api, createSession, EventStream, isIdleEvent, sandboxesOf, scripted, sendMessage, waitFor } from '../helpers'

/**
 * The watchdog over work on a sandbox (docs/operations.md, "When things break"): a provisioning that hangs
 * past PROVISION_TIMEOUT_SECONDS is abandoned, what it made is killed, the session hears
 * `sandbox_timeout` and goes on, and its next message provisions again with nothing lost.
 * The limit here is short, but long enough for a provisioning that does not hang.
 */

const LIMIT_SECONDS = 90
ownStackForFile('watchdog', { PROVISION_TIMEOUT_SECONDS: String(LIMIT_SECONDS) })

const marks = mkdtempSync(join(tmpdir(), 'osw-watchdog-marks-'))
afterAll(() => rmSync(marks, { recursive: true, force: true }))

/** Processes whose command line holds `needle`: the hung setup's own `sleep`. */
function processesWith(needle: string): number[] {
  return readdirSync('/proc')
    .map(Number)
    .filter((pid) => {
      try {
        return Number.isInteger(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)
      } catch {
        return false
      }
    })
}

describe('a provisioning that hangs', () => {
  it('is abandoned at the watchdog, its sandbox killed; the session goes on and the next message provisions again', async () => {
    const mark = join(marks, 'hung-once')
    // A sleep no other process has (another run of this file included): its arguments name it.
    // The first setup hangs far past the limit; the next passes.
    const sleeper = `sleep ${LIMIT_SECONDS * 20}.${Date.now()}`
    const setup = `if [ -e '${mark}' ]; then exit 0; fi; touch '${mark}'; ${sleeper}`
    const first = 'queued before the hang'
    const id = await createSession({ setup, prompt: scripted({ reply: first }) })
    const stream = new EventStream(id)
    try {
      await waitFor('the setup to hang', () => processesWith(sleeper).length >= 1, 120_000)
      expect(await sandboxesOf(id)).toHaveLength(1)

      const timeout = await stream.until((e) => e.event === 'error', (LIMIT_SECONDS + 60) * 1000)
      expect(timeout.data).toMatchObject({ code: 'sandbox_timeout', message: `starting the sandbox took longer than ${LIMIT_SECONDS} s and was abandoned` })
      await stream.until(isIdleEvent)
      await waitFor('the hung sandbox and its setup to be killed', async () => (await sandboxesOf(id)).length === 0 && processesWith(sleeper).length === 0)

      // The prompt is still queued, and nothing provisions again until a message asks (a read does not).
      expect((await api(`/v1/sessions/${id}`)).body).toMatchObject({ status: 'idle', queued: 1 })
      expect(await sandboxesOf(id)).toEqual([])

      await sendMessage(id, scripted({ reply: 'after the hang' }))
      const replies = await waitFor('both queued messages to be answered', () => {
        const texts = stream.events.filter((e) => e.event === 'message.completed' && e.data.role === 'assistant').map((e) => e.data.text)
        return texts.length >= 2 ? texts : undefined
      }, 180_000)
      expect(replies).toEqual([first, 'after the hang'])
      expect(await sandboxesOf(id)).toHaveLength(1)
      expect(stream.events.filter((e) => e.event === 'error')).toHaveLength(1)
    } finally {
      await stream.close()
      await api(`/v1/sessions/${id}`, { method: 'DELETE' })
    }
  })
})
