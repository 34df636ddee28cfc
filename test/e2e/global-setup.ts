import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { startStack } from '../../local/stack'
import { CALLBACK_SECRET, CANARY_PROVIDER_KEY, GITHUB_MAX_RUNS_PER_HOUR, GITHUB_WEBHOOK_SECRET, TEST_KEYS, tenantIdOf, WEBHOOK_SECRET } from './helpers'
import { startReceiver } from './receivers'

declare module 'vitest' {
  export interface ProvidedContext {
    workerUrl: string
    sandboxHostUrl: string
    sandboxHostToken: string
    workerLogFile: string
    modelUrl: string
    modelKey: string
    githubUrl: string
  }
}


/** One stack for the whole e2e run: starting wrangler dev takes seconds, a session's sandbox is its own. */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'osw-e2e-'))
  const workerLogFile = join(dir, 'worker.log')
  // A process may still print after the stack is closed and its folder removed.
  let open = true
  const github = await startReceiver()
  const stack = await startStack({
    // CANARY_API_KEY stands for a provider key: handed to every sandbox, and never to be seen again.
    settings: {
      API_KEYS: TEST_KEYS.join(','),
      SESSION_IDLE_SECONDS: '900',
      // Every e2e file shares these tenants; the limits themselves are tested on a stack of their own.
      MAX_ACTIVE_SESSIONS_PER_TENANT: '1000',
      MAX_SESSION_CREATES_PER_MINUTE: '1000',
      MAX_RUN_CREATES_PER_MINUTE: '1000',
      CANARY_API_KEY: CANARY_PROVIDER_KEY,
      WEBHOOK_SECRET,
      CALLBACK_SECRET,
      GITHUB_WEBHOOK_SECRET,
      GITHUB_MAX_RUNS_PER_HOUR: String(GITHUB_MAX_RUNS_PER_HOUR),
      GITHUB_TOKEN: 'ghp_test_token',
      GITHUB_API_URL: github.url,
      // The deliveries of test/e2e/runs and security-webhooks name acme's repositories: the first key's tenant owns them.
      GITHUB_TENANT_REPOS: JSON.stringify({ [tenantIdOf(TEST_KEYS[0])]: ['acme/*'] }),
      // Web pages of this origin may call the API (test/e2e/frontend-io.test.ts).
      CORS_ORIGINS: 'http://app.example.test',
    },
    stateDir: join(dir, 'state'),
    sandboxRoot: join(dir, 'sandboxes'),
    devVars: false,
    scriptedModel: true,
    onLog: (line) => open && appendFileSync(workerLogFile, line),
  })
  project.provide('workerUrl', stack.url)
  project.provide('sandboxHostUrl', stack.sandboxHostUrl)
  project.provide('sandboxHostToken', stack.sandboxHostToken)
  project.provide('workerLogFile', workerLogFile)
  project.provide('modelUrl', stack.model!.url)
  project.provide('modelKey', stack.modelKey!)
  project.provide('githubUrl', github.url)
  return async () => {
    await stack.close()
    await github.close()
    open = false
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 500 })
  }
}
