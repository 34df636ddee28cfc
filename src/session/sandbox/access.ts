import { SESSION_TENANT_HEADER, SESSION_TERMINAL_PATH, type AgentAccess } from '../../durable-objects'
import { fail, ok, type Outcome } from '../../lib/errors'
import { authHeaders } from '../../opencode/client'
import type { SandboxEndpoint, SandboxProvider } from '../../sandbox/provider'
import type { SandboxRecord } from '../../sandbox/record'
import type { SessionStore } from '../store/session-store'
import type { OpenPorts } from './open-ports'
import { MAX_TERMINALS, type Terminals } from './terminals'

/** A preview's requests bring the sandbox back and move the idle deadline at most this often: each is a write and an alarm. */
const PREVIEW_TOUCH_EVERY_MS = 5_000

export type AccessParts = {
  store: SessionStore
  /** the running sandbox, brought back or made first (as a keepalive would) */
  lifecycle: { running(): Promise<SandboxRecord | undefined> }
  terminals: Terminals
  ports: Pick<OpenPorts, 'listening'>
  provider: Pick<SandboxProvider, 'portEndpoint'>
}

const notFound = (): Outcome<never> => fail('not_found', 'no such session')

/**
 * A person's own way into the session's sandbox, beside the agent: a terminal, or opencode's
 * API for `opencode attach`. Either brings the sandbox back first; its address and password
 * stay in the Worker.
 */
export class SandboxAccess {
  private lastPreview = 0

  constructor(private readonly p: AccessParts) {}

  /**
   * Where the Worker reaches `port` of the running sandbox, for a preview: only a port a process
   * of the sandbox listens on. A preview in use counts as activity, as a keepalive does.
   */
  async preview(tenant: string, port: number): Promise<Outcome<SandboxEndpoint>> {
    const { store } = this.p
    const current = store.owns(tenant) && !store.isOver() ? store.sandbox() : undefined
    const fresh = current && !current.paused && Date.now() - this.lastPreview < PREVIEW_TOUCH_EVERY_MS
    const record = fresh ? ok(current) : await this.runningFor(tenant)
    if (!record.ok) return record
    if (!fresh) this.lastPreview = Date.now()
    try {
      if (!(await this.p.ports.listening(record.value.sandboxId, port))) return fail('not_found', `nothing in the sandbox listens on port ${port}`)
      return ok(await this.p.provider.portEndpoint(record.value.sandboxId, port))
    } catch {
      return fail('sandbox_unavailable', 'the sandbox did not answer; try again')
    }
  }

  /** Where the Worker reaches opencode's API for this tenant's session. */
  async agent(tenant: string): Promise<Outcome<AgentAccess>> {
    const record = await this.runningFor(tenant)
    return record.ok ? ok({ url: record.value.endpoint.url, headers: authHeaders(record.value.endpoint, record.value.password), directory: record.value.workdir }) : record
  }

  /** A terminal in the running sandbox: the upgrade the Worker's terminal route forwarded. */
  async terminal(request: Request): Promise<Outcome<Response>> {
    const url = new URL(request.url)
    const tenant = request.headers.get(SESSION_TENANT_HEADER)
    if (url.pathname !== SESSION_TERMINAL_PATH || tenant === null) return notFound()
    if (this.p.terminals.size >= MAX_TERMINALS && this.p.store.owns(tenant)) return fail('too_many_requests', `this session already has ${MAX_TERMINALS} terminals open; close one first`)
    const record = await this.runningFor(tenant)
    if (!record.ok) return record
    return this.p.terminals.connect(record.value, { cols: Number(url.searchParams.get('cols')), rows: Number(url.searchParams.get('rows')) })
  }

  private async runningFor(tenant: string): Promise<Outcome<SandboxRecord>> {
    const { store } = this.p
    if (!store.owns(tenant)) return notFound()
    if (store.isOver()) return fail('conflict', `the session is ${store.row.status}`)
    const record = await this.p.lifecycle.running()
    if (!record || store.isOver()) return fail('sandbox_unavailable', 'the session has no running sandbox now; try again')
    return ok(record)
  }
}
