import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { startOwnStack } from '../helpers/own-stack'
import { processAlive, processesWith, waitFor } from '../helpers'

/**
 * wrangler dev's Node process owns the workerd processes that run the Worker. When it dies
 * without its own shutdown (a crash, an OOM kill), they are re-parented and run on, holding their
 * ports and hundreds of MiB. Closing the stack still ends them.
 */

const children = (pid: number) => processesWith(1, pid)

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')

/** The stack's workerd processes and their Node parent, found from the Worker's port. */
function workerProcesses(port: string): { node: number; workerd: number[] } {
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    try {
      const cmd = cmdline(pid)
      if (!cmd.includes('local/wrangler-dev.ts') || !cmd.includes(` ${port} `)) continue
      return { node: pid, workerd: children(pid).filter((c) => cmdline(c).includes('workerd')) }
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no wrangler dev process for port ${port}`)
}

describe("wrangler dev's Node process dies", () => {
  it("the stack's close still ends its workerd processes", { timeout: 240_000 }, async () => {
    const own = await startOwnStack('worker-crash')
    let workerd: number[] = []
    try {
      const found = workerProcesses(new URL(own.stack.url).port)
      workerd = found.workerd
      expect(workerd.length).toBeGreaterThan(0)
      process.kill(found.node, 'SIGKILL')
      await waitFor('the workerd processes to lose their parent', () => workerd.every((pid) => !children(found.node).includes(pid)))
      expect(workerd.filter(processAlive)).toEqual(workerd)
    } finally {
      await own.close()
    }
    await waitFor('no workerd of the stack left', () => workerd.filter(processAlive).length === 0, 30_000)
  })
})
