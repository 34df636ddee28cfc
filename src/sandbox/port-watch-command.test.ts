import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { portWatchCommand } from './port-watch-command'

const run = promisify(execFile)

describe('the port watch command', () => {
  it('prints the listening ports but the excluded, and waits for a change when given the ports known', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    try {
      const now = (await run('bash', ['-c', portWatchCommand([])])).stdout.trim().split(',').map(Number)
      expect(now).toContain(port)
      expect((await run('bash', ['-c', portWatchCommand([port])])).stdout.trim().split(',').map(Number)).not.toContain(port)
      // Told the ports as they are less this one, it sees the difference at once.
      const others = now.filter((p) => p !== port)
      const changed = (await run('bash', ['-c', portWatchCommand([], others)])).stdout.trim().split(',').map(Number)
      expect(changed).toContain(port)
    } finally {
      server.close()
    }
    // Three node processes started one after another: seconds on a loaded machine.
  }, 20_000)
})
