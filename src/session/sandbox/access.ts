import { SESSION_TENANT_HEADER, SESSION_TERMINAL_PATH, type AgentAccess } from '../../durable-objects'
import { fail, ok, type Outcome } from '../../lib/errors'
import { authHeaders } from '../../opencode/client'
import type { SandboxRecord } from '../../sandbox/record'
import type { SessionStore } from '../store/session-store'
import { MAX_TERMINALS, type Terminals } from './terminals'

export type AccessParts = {
  store: SessionStore
  /** the running sandbox, brought back or made first (as a keepalive would) */
  lifecycle: { running(): Promise<SandboxRecord | undefined> }
  terminals: Terminals
}

const notFound = (): Outcome<never> => fail('not_found', 'no such session')

/**
 * A person's own way into the session's sandbox, beside the agent: a terminal, or opencode's
 * API for `opencode attach`. Either brings the sandbox back first; its address and password
 * stay in the Worker.
 */
export class SandboxAccess {
  constructor(private readonly p: AccessParts) {}

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
