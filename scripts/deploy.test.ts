import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../local/stack'

/**
 * What `wrangler deploy` would ship, built offline with `--dry-run`: the bundle builds, binds
 * the five Durable Objects and carries the production settings, not the local ones.
 */

const outdir = mkdtempSync(join(tmpdir(), 'osw-deploy-'))
let output = ''

beforeAll(async () => {
  const { stdout, stderr } = await promisify(execFile)(
    join(PROJECT_ROOT, 'node_modules', '.bin', 'wrangler'),
    ['deploy', '--dry-run', '--outdir', outdir],
    { cwd: PROJECT_ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' } },
  )
  output = stdout + stderr
}, 120_000)

afterAll(() => rmSync(outdir, { recursive: true, force: true }))

/** The binding table wrangler prints: `env.NAME (detail)   Kind`. */
const bindings = () =>
  [...output.matchAll(/^env\.(\w+) \(([^)]*)\)\s+(\S.*?)\s*$/gm)].map(([, name, detail, kind]) => ({ name, detail, kind }))

describe('wrangler deploy --dry-run', () => {
  it('builds the bundle', () => {
    expect(output).toContain('--dry-run: exiting now.')
    const files = readdirSync(outdir)
    expect(files).toContain('index.js')
    expect(statSync(join(outdir, 'index.js')).size).toBeGreaterThan(100_000)
  })

  it('binds the six Durable Objects, the checkpoints bucket and the usage dataset', () => {
    expect(bindings().filter((b) => b.kind === 'Durable Object')).toEqual([
      { name: 'SESSIONS', detail: 'SessionDO', kind: 'Durable Object' },
      { name: 'TENANTS', detail: 'TenantIndex', kind: 'Durable Object' },
      { name: 'POOL', detail: 'SandboxPool', kind: 'Durable Object' },
      { name: 'RUNS', detail: 'RunDO', kind: 'Durable Object' },
      { name: 'WEBHOOK_GUARD', detail: 'WebhookGuard', kind: 'Durable Object' },
      { name: 'SCHEDULES', detail: 'TenantSchedules', kind: 'Durable Object' },
    ])
    expect(bindings().filter((b) => b.kind !== 'Durable Object' && b.kind !== 'Environment Variable').map((b) => b.name)).toEqual(['CHECKPOINTS', 'USAGE'])
  })

  it('carries the production settings: E2B, no local sandbox host, no secrets', () => {
    const vars = Object.fromEntries(bindings().filter((b) => b.kind === 'Environment Variable').map((b) => [b.name, b.detail]))
    expect(vars).toEqual({ SANDBOX_PROVIDER: '"e2b"', SESSION_IDLE_SECONDS: '"900"' })
  })

  it('ships the playground and docs as static assets', () => {
    expect(output).toMatch(/Read \d+ files from the assets directory/)
  })
})
