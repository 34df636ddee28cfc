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

function fail(c: Context, code: 400 | 401 | 404 | 409 | 503, message: string) {
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

/**
 * Outages a test orders: the next `creates` create calls answer 503, as E2B does when it has no
 * capacity; the next `brokenSandboxes` sandboxes made refuse their first command. `attempts`
 * counts every create call, failed or not, so a test can count retries.
 */
export type RestFaults = { creates: number; attempts: number; brokenSandboxes: number }

export function createRestApi(
  sandboxes: Sandboxes,
  snapshots: Snapshots,
  apiKey: string,
  faults: RestFaults = { creates: 0, attempts: 0, brokenSandboxes: 0 },
): Hono {
  const app = new Hono()

  app.use('*', async (c, next) => {
    const key = c.req.header('x-api-key')
    if (!key) return fail(c, 401, 'Authorization header is missing')
    if (key !== apiKey) return fail(c, 401, 'Invalid API key')
    await next()
  })

  const find = (c: Context) => sandboxes.get(c.req.param('id') ?? '')
  const notFound = (c: Context) => fail(c, 404, `sandbox "${c.req.param('id')}" doesn't exist or you don't have access to it`)

  const create = async (c: Context) => {
    faults.attempts++
    if (faults.creates > 0) {
      faults.creates--
      return fail(c, 503, 'no capacity to create sandboxes right now, try again')
    }
    const body = await c.req.json<NewSandbox>().catch(() => undefined)
    if (!body?.templateID) return fail(c, 400, 'templateID is required')
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
    if (!snapshot && body.templateID.includes(':')) return fail(c, 404, `template "${body.templateID}" not found`)
    const sb = snapshot ? await snapshots.start(snapshot, input) : await sandboxes.create(input)
    if (faults.brokenSandboxes > 0) {
      faults.brokenSandboxes--
      sb.refusedStarts = 1
    }
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
    const sb = find(c)
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
    const sb = find(c)
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
