import type { IncomingMessage } from 'node:http'
import { Hono, type Context } from 'hono'
import { snapshotRoutes } from './rest-snapshots'
import { ENVD_VERSION, type Sandbox, type Sandboxes } from './sandboxes'
import type { Snapshots } from './snapshots'

/**
 * E2B's REST API (the SDK's `apiUrl`), the part the SDK calls for sandboxes: create, connect
 * (resuming a paused one), info, list, timeout, pause (with or without memory), fork, kill, and
snapshots (rest-snapshots.ts; a create that names one starts from it). Errors are E2B's `{code, message}`,
 * which the SDK reads to tell a missing sandbox (404) from a refused key (401).
 */

/** E2B's sizes for a default template; reported, not enforced. */
const SIZES = { cpuCount: 2, memoryMB: 512, diskSizeMB: 10240 }

type NewSandbox = {
  templateID?: string
  timeout?: number
  envVars?: Record<string, string>
  metadata?: Record<string, string>
  network?: { allowPublicTraffic?: boolean }
  allow_internet_access?: boolean
  autoPause?: boolean
}

function fail(c: Context, code: 400 | 401 | 404 | 409 | 429 | 503, message: string) {
  return c.json({ code, message }, code)
}

/** The `Sandbox` schema: what create and connect answer. */
function created(sb: Sandbox) {
  return {
    templateID: sb.templateID,
    sandboxID: sb.id,
    clientID: sb.clientID,
    envdVersion: ENVD_VERSION,
    envdAccessToken: sb.envdAccessToken,
    trafficAccessToken: sb.trafficAccessToken ?? null,
    domain: null,
  }
}

/** The `ListedSandbox` schema. */
function listed(sb: Sandbox) {
  return {
    templateID: sb.templateID,
    sandboxID: sb.id,
    clientID: sb.clientID,
    startedAt: sb.startedAt.toISOString(),
    endAt: sb.endAt.toISOString(),
    state: sb.state,
    envdVersion: ENVD_VERSION,
    metadata: sb.metadata,
    ...SIZES,
  }
}

/** The `SandboxDetail` schema. */
function detail(sb: Sandbox) {
  return {
    ...listed(sb),
    envdAccessToken: sb.envdAccessToken,
    domain: null,
    allowInternetAccess: sb.allowInternetAccess,
    network: { allowPublicTraffic: sb.trafficAccessToken === undefined },
    lifecycle: { onTimeout: sb.autoPause ? 'pause' : 'kill', autoResume: false },
  }
}

/** `metadata=k1%3Dv1%26k2%3Dv2` as the SDK encodes its metadata filter. */
function matchesMetadata(sb: Sandbox, filter: string | undefined) {
  if (!filter) return true
  for (const [key, value] of new URLSearchParams(filter)) {
    if (sb.metadata[decodeURIComponent(key)] !== decodeURIComponent(value)) return false
  }
  return true
}

/** A create, pause or kill call as the stand-in answered it, for a test to count retries and see their order. */
export type RestCall = {
  kind: 'create' | 'pause' | 'kill'
  /** the sandbox made (create) or named (pause, kill); none for a create that made nothing */
  sandboxId?: string
  /** a create's metadata, which names the session or pool it was for */
  metadata?: Record<string, string>
  at: Date
  /** the HTTP status answered, or `dropped`: the connection was cut without an answer */
  answer: number | 'dropped'
}

/** Sandboxes a fault is for: those whose metadata has every one of these entries (all when none). */
export type FaultScope = Record<string, string> | undefined

/**
 * Outages a test orders: the next `creates` create calls answer 503, as E2B does when it has no
 * capacity; the next `rateLimitedCreates` answer 429, as E2B does past a plan's creates per second; the next `brokenSandboxes` sandboxes made refuse their first command; the next
 * `pauses.count` pauses (of sandboxes in its scope) are refused with a 500, the sandbox running
 * on; the next `kills.count` kills (likewise) fail, answering 500 or (`how: 'drop'`) cutting the
 * connection, as when E2B is unreachable for a moment, the sandbox living on. `calls` holds every
 * create, pause and kill call, failed or not.
 */
export type RestFaults = {
  creates: number
  rateLimitedCreates: number
  brokenSandboxes: number
  pauses: { count: number; only: FaultScope }
  kills: { count: number; only: FaultScope; how: 'error' | 'drop' }
  calls: RestCall[]
}

export const noFaults = (): RestFaults => ({
  creates: 0,
  rateLimitedCreates: 0,
  brokenSandboxes: 0,
  pauses: { count: 0, only: undefined },
  kills: { count: 0, only: undefined, how: 'error' },
  calls: [],
})

/** Whether a fault ordered for `only` falls on this sandbox now, and if so counts it as spent. */
function strikes(fault: { count: number; only: FaultScope }, sb: Sandbox | undefined): boolean {
  if (fault.count <= 0 || !sb) return false
  if (fault.only && !Object.entries(fault.only).every(([key, value]) => sb.metadata[key] === value)) return false
  fault.count--
  return true
}

export function createRestApi(sandboxes: Sandboxes, snapshots: Snapshots, apiKey: string, faults: RestFaults = noFaults()): Hono {
  const app = new Hono()

  app.use('*', async (c, next) => {
    const key = c.req.header('x-api-key')
    if (!key) return fail(c, 401, 'Authorization header is missing')
    if (key !== apiKey) return fail(c, 401, 'Invalid API key')
    await next()
  })

  const find = (c: Context) => sandboxes.get(c.req.param('id') ?? '')
  const notFound = (c: Context) => fail(c, 404, `sandbox "${c.req.param('id')}" doesn't exist or you don't have access to it`)

  const called = (call: Omit<RestCall, 'at'>) => void faults.calls.push({ ...call, at: new Date() })

  const create = async (c: Context) => {
    const body = await c.req.json<NewSandbox>().catch(() => undefined)
    const metadata = body?.metadata
    if (faults.rateLimitedCreates > 0) {
      faults.rateLimitedCreates--
      called({ kind: 'create', metadata, answer: 429 })
      return fail(c, 429, 'rate limit exceeded: too many sandboxes created per second')
    }
    if (faults.creates > 0) {
      faults.creates--
      called({ kind: 'create', metadata, answer: 503 })
      return fail(c, 503, 'no capacity to create sandboxes right now, try again')
    }
    if (!body?.templateID) {
      called({ kind: 'create', metadata, answer: 400 })
      return fail(c, 400, 'templateID is required')
    }
    const input = {
      templateID: body.templateID,
      timeoutS: body.timeout,
      envs: body.envVars,
      metadata: body.metadata,
      allowPublicTraffic: body.network?.allowPublicTraffic,
      allowInternetAccess: body.allow_internet_access,
      autoPause: body.autoPause,
    }
    const snapshot = snapshots.get(body.templateID)
    // A snapshot's id is `<template>:<tag>`; a deleted one is no template to start from.
    if (!snapshot && body.templateID.includes(':')) {
      called({ kind: 'create', metadata, answer: 404 })
      return fail(c, 404, `template "${body.templateID}" not found`)
    }
    const sb = await (snapshot ? snapshots.start(snapshot, input) : sandboxes.create(input)).catch((err: unknown) => {
      called({ kind: 'create', metadata, answer: 500 })
      throw err
    })
    if (faults.brokenSandboxes > 0) {
      faults.brokenSandboxes--
      sb.refusedStarts = 1
    }
    called({ kind: 'create', sandboxId: sb.id, metadata, answer: 201 })
    return c.json(created(sb), 201)
  }
  app.post('/sandboxes', create)
  app.post('/v2/sandboxes', create)

  const list = (c: Context) => {
    const states = c.req.query('state')?.split(',')
    const template = c.req.query('template')
    const found = sandboxes
      .list()
      .filter((sb) => (!states || states.includes(sb.state)) && (!template || sb.templateID === template) && matchesMetadata(sb, c.req.query('metadata')))
    return c.json(found.map(listed))
  }
  app.get('/sandboxes', list)
  app.get('/v2/sandboxes', list)

  app.get('/sandboxes/:id', (c) => {
    const sb = find(c)
    return sb ? c.json(detail(sb)) : notFound(c)
  })

  app.delete('/sandboxes/:id', async (c) => {
    const sandboxId = c.req.param('id')
    const sb = find(c)
    if (strikes(faults.kills, sb)) {
      if (faults.kills.how === 'drop') {
        called({ kind: 'kill', sandboxId, answer: 'dropped' })
        // @hono/node-server hands the Node request over as the env; its socket going is a cut connection.
        ;(c.env as { incoming: IncomingMessage }).incoming.socket.destroy()
        return c.body(null, 500)
      }
      called({ kind: 'kill', sandboxId, answer: 500 })
      return c.json({ code: 500, message: `failed to kill sandbox "${sandboxId}"` }, 500)
    }
    called({ kind: 'kill', sandboxId, answer: sb ? 204 : 404 })
    if (!sb) return notFound(c)
    await sandboxes.kill(sb)
    return c.body(null, 204)
  })

  app.post('/sandboxes/:id/timeout', async (c) => {
    const sb = find(c)
    if (!sb) return notFound(c)
    const { timeout } = await c.req.json<{ timeout?: number }>().catch(() => ({ timeout: undefined }))
    if (typeof timeout !== 'number' || timeout < 0) return fail(c, 400, 'timeout must be a number of seconds')
    if (sb.state === 'running') sandboxes.setTimeout(sb, timeout)
    return c.body(null, 204)
  })

  app.post('/sandboxes/:id/pause', async (c) => {
    const sandboxId = c.req.param('id')
    const sb = find(c)
    if (strikes(faults.pauses, sb)) {
      called({ kind: 'pause', sandboxId, answer: 500 })
      return c.json({ code: 500, message: `failed to pause sandbox "${sandboxId}"` }, 500)
    }
    called({ kind: 'pause', sandboxId, answer: !sb ? 404 : sb.state === 'paused' ? 409 : 204 })
    if (!sb) return notFound(c)
    if (sb.state === 'paused') return fail(c, 409, `Sandbox "${sb.id}" is already paused`)
    const { memory } = await c.req.json<{ memory?: boolean }>().catch(() => ({ memory: undefined }))
    await sandboxes.pause(sb, memory !== false)
    return c.body(null, 204)
  })

  // A running sandbox answers 200 (its timeout only ever extended); a paused one resumes, 201
  // (`memory: false`: booted afresh, whatever its pause kept).
  app.post('/v2/sandboxes/:id/connect', async (c) => {
    const sb = find(c)
    if (!sb) return notFound(c)
    const { timeout, memory } = await c.req.json<{ timeout?: number; memory?: boolean }>().catch(() => ({ timeout: undefined, memory: undefined }))
    if (sb.state === 'paused') {
      await sandboxes.resume(sb, timeout, memory !== false)
      return c.json(created(sb), 201)
    }
    if (timeout !== undefined && Date.now() + timeout * 1000 > sb.endAt.getTime()) sandboxes.setTimeout(sb, timeout)
    return c.json(created(sb), 200)
  })

  app.post('/sandboxes/:id/resume', async (c) => {
    const sb = find(c)
    if (!sb) return notFound(c)
    if (sb.state === 'running') return fail(c, 409, `Sandbox "${sb.id}" is already running`)
    const { timeout, memory } = await c.req.json<{ timeout?: number; memory?: boolean }>().catch(() => ({ timeout: undefined, memory: undefined }))
    await sandboxes.resume(sb, timeout, memory !== false)
    return c.json(created(sb), 201)
  })

  app.post('/sandboxes/:id/fork', async (c) => {
    const sb = find(c)
    if (!sb) return notFound(c)
    const { count = 1, timeout } = await c.req.json<{ count?: number; timeout?: number }>().catch(() => ({ count: 1, timeout: undefined }))
    if (!Number.isInteger(count) || count < 1 || count > 10) return fail(c, 400, 'count must be from 1 to 10')
    const forks = []
    for (let i = 0; i < count; i++) {
      forks.push(await sandboxes.fork(sb, timeout).then((copy) => ({ sandbox: created(copy) }), (err: Error) => ({ error: { code: 500, message: err.message } })))
    }
    return c.json(forks, 201)
  })

  snapshotRoutes(app, sandboxes, snapshots)

  app.notFound((c) => c.json({ code: 404, message: `no route ${c.req.method} ${c.req.path}` }, 404))
  app.onError((err, c) => c.json({ code: 500, message: err.message }, 500))
  return app
}
