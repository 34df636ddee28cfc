import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { newId } from '../../src/lib/ids'
import { ownStackForFile } from '../helpers/own-stack'
import { agentRuns, api, baseUrl, sandboxesOf, type Json } from './helpers'

/**
 * A deployment with credentials in its OPENCODE_CONFIG besides its providers' keys (a model's
 * headers, cloud-credential options, MCP servers with headers and an environment, a formatter's
 * environment), and without SECRETS_KEY, so that its gateway tokens are signed with the key the
 * deployment keeps for itself. The agent prints everything it can see.
 */

const CANARIES = {
  modelHeader: 'canary-model-header-5e1f',
  cloudKey: 'canary-cloud-access-key-93ad',
  cloudSecret: 'canary-cloud-secret-0c72',
  mcpHeader: 'canary-mcp-header-b7e4',
  mcpEnvironment: 'canary-mcp-environment-41d9',
  formatterEnvironment: 'canary-formatter-environment-8a30',
}

const withCredentials = (scripted: Record<string, unknown>): Record<string, unknown> => {
  const config = structuredClone(scripted) as Json
  const local = config.provider.local
  local.options = { ...local.options, accessKeyId: CANARIES.cloudKey, secretAccessKey: CANARIES.cloudSecret }
  for (const model of Object.values(local.models) as Json[]) model.headers = { 'X-Model-Key': CANARIES.modelHeader }
  // Disabled, so that opencode would not start them even where they are copied: only what it is given matters here.
  config.mcp = {
    vault: { type: 'remote', url: 'http://127.0.0.1:9/mcp', enabled: false, headers: { Authorization: `Bearer ${CANARIES.mcpHeader}` } },
    database: { type: 'local', command: ['true'], enabled: false, environment: { DB_PASSWORD: CANARIES.mcpEnvironment } },
    docs: { type: 'remote', url: 'http://127.0.0.1:9/docs-mcp', enabled: false },
  }
  config.formatter = { canary: { command: ['true'], extensions: ['.canary'], environment: { NPM_TOKEN: CANARIES.formatterEnvironment } } }
  return config
}

const own = ownStackForFile('deployment-config', { SECRETS_KEY: '' }, { scriptedModel: true, opencodeConfig: withCredentials })

const PRINT_EVERYTHING = 'env; cat "$HOME"/.config/opencode/*.json* 2>/dev/null; true'

describe("OPENCODE_CONFIG's credentials", () => {
  let id: string
  let printed: string

  beforeAll(async () => {
    ;({ id, printed } = await agentRuns(PRINT_EVERYTHING))
  })

  it('stay in the Worker: the agent sees its models, not their headers, cloud credentials, or MCP servers that need credentials', async () => {
    // The turn went through the gateway: tokens signed with the deployment's own key work without SECRETS_KEY.
    expect(printed).toContain('OPENCODE_CONFIG_CONTENT')
    const config = JSON.parse(/OPENCODE_CONFIG_CONTENT=(.*)/.exec(printed)![1]!) as Json
    const [sandbox] = await sandboxesOf(id)
    const environ = readFileSync(`/proc/${sandbox!.opencodePid}/environ`, 'utf8')
    for (const canary of Object.values(CANARIES)) {
      expect(printed).not.toContain(canary)
      expect(environ).not.toContain(canary)
      // grep exits 1 when nothing matches: no file of the sandbox holds it
      expect(() => execFileSync('grep', ['-rqF', canary, dirname(sandbox!.workdir)])).toThrow()
    }
    expect(Object.keys(config.provider.local.models).length).toBeGreaterThan(0)
    expect(Object.keys(config.mcp)).toEqual(['docs'])
  })

  it('name the MCP servers they keep from sandboxes in /ready, without their values', async () => {
    const ready = await api('/ready', { key: null })
    expect(ready.status).toBe(503)
    const reasons = ready.body.reasons as string[]
    expect(reasons.filter((r) => r.includes('MCP server'))).toHaveLength(2)
    expect(reasons.some((r) => r.includes('"vault"'))).toBe(true)
    expect(reasons.some((r) => r.includes('"database"'))).toBe(true)
    for (const canary of Object.values(CANARIES)) expect(JSON.stringify(ready.body)).not.toContain(canary)
  })
})

/** The session objects' databases of the stack's local state (one file per object that ever stored anything). */
function sessionObjects(stateDir: string): string[] {
  return readdirSync(stateDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => /SessionDO\/[0-9a-f]{64}\.sqlite$/.test(file))
}

describe('made-up gateway tokens', () => {
  it('are refused with 401 before any session object is named: no storage is created for them', async () => {
    const stateDir = join(own().dir, 'state')
    const before = sessionObjects(stateDir)
    // The session of the describe above has its object: this count sees them.
    expect(before.length).toBeGreaterThan(0)
    const hex = (bytes: number) => randomBytes(bytes).toString('hex')
    for (let i = 0; i < 15; i++) {
      const owner = newId('ses')
      // as tokens were, `<session>.<secret>`, and as they are, with a MAC after it
      for (const token of [`${owner}.${hex(24)}`, `${owner}.${hex(24)}.${hex(32)}`]) {
        const res = await fetch(`${baseUrl()}/v1/gateway/local/models`, { headers: { authorization: `Bearer ${token}` } })
        expect(res.status).toBe(401)
        expect(((await res.json()) as Json).error.code).toBe('unauthorized')
      }
    }
    expect(sessionObjects(stateDir)).toEqual(before)
  })
})
