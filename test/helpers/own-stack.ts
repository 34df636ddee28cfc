import { afterAll, beforeAll } from 'vitest'
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startStack, type Stack, type StackOptions } from '../../local/stack'
import { TEST_KEYS, useStack } from './stack'

export type OwnStack = { stack: Stack; dir: string; logFile: string; close(): Promise<void> }

/**
 * A whole local stack for one test file (when it restarts the Worker, injects faults or needs
 * other settings), in temp folders, with the e2e helpers pointed at it.
 */
export async function startOwnStack(
  name: string,
  settings: Record<string, string> = {},
  opts: Pick<StackOptions, 'faultInjection' | 'scriptedModel' | 'e2bStandIn' | 'opencodeConfig' | 'bundledSettings' | 'networkEnv'> = {},
): Promise<OwnStack> {
  const dir = mkdtempSync(join(tmpdir(), `osw-${name}-`))
  const logFile = join(dir, 'worker.log')
  // A process may still print after the stack is closed and its folder removed.
  let open = true
  const stack = await startStack({
    settings: { API_KEYS: TEST_KEYS.join(','), ...settings },
    stateDir: join(dir, 'state'),
    sandboxRoot: join(dir, 'sandboxes'),
    devVars: false,
    onLog: (line) => open && appendFileSync(logFile, line),
    ...opts,
  })
  useStack({ workerUrl: stack.url, sandboxHostUrl: stack.sandboxHostUrl, sandboxHostToken: stack.sandboxHostToken })
  return {
    stack,
    dir,
    logFile,
    close: async () => {
      await stack.close()
      open = false
      // A sandbox process still ending (an npm install opencode began) may write into its folder
      // while it is removed (ENOTEMPTY): tried for about 5 s.
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 500 })
    },
  }
}

/**
 * A stack of the calling test file's own, started before its tests and closed after them; the
 * getter answers it once started.
 */
export function ownStackForFile(...args: Parameters<typeof startOwnStack>): () => OwnStack {
  let own: OwnStack | undefined
  beforeAll(async () => {
    own = await startOwnStack(...args)
  })
  afterAll(async () => {
    await own?.close()
  })
  return () => own!
}
