import { Hono } from 'hono'
import { poolStub, sessionStub } from '../durable-objects'
import type { AppEnv, Bindings } from '../env'
import { noUsage, UsageMeter } from '../gateway/meter'
import { meterCopy } from '../gateway/meter-copy'
import { apiPath, checkCall, type KeyStyle } from '../gateway/calls'
import { callShape, isPaid, type CallEnd, type PaidCall } from '../gateway/spend'
import { costFields, CostFieldsOnce, HEAD_BYTES, mayAskUsage, readHead, UsageAsked } from '../gateway/request-body'
import { canRoute, deploymentRoutes, routeFor, tokenOf, upstreamHeaders, upstreamUrl } from '../gateway/routes'
import { readGatewayToken } from '../gateway/token'
import { deploymentTokenKey } from '../gateway/token-key'
import { ApiError, unwrap } from '../lib/errors'
import { errorMessage, log } from '../lib/log'
import { readSettings } from '../config/settings'
import type { Limits } from '../contracts'
import { costCapped } from '../gateway/budget'
import { priceOf } from '../gateway/prices'
import { parseDeploymentConfig } from '../opencode/config'
import { limitBodyStreaming } from './middleware'

/**
 * The model gateway: sandboxes call their model providers here, with their session's gateway
 * token as the key. The Worker checks the token and the session's budget, puts the real key in,
 * forwards to the provider's real URL, and streams the answer back as it comes, counting the
 * tokens it reports on the way. No provider key ever enters a sandbox.
 */

/** Model requests carry whole conversations; larger than the API's other bodies. */
export const MAX_GATEWAY_BODY_BYTES = 32 * 1024 * 1024

/** Which session a warm sandbox's token now speaks for; once set it never changes, so it is kept per isolate. */
const warmOwners = new Map<string, string>()

async function sessionOf(env: Bindings, owner: string): Promise<string | undefined> {
  if (owner.startsWith('ses_')) return owner
  const known = warmOwners.get(owner)
  if (known) return known
  const session = await poolStub(env).ownerOf(owner)
  if (session) warmOwners.set(owner, session)
  return session ?? undefined
}

const limitGatewayBody = limitBodyStreaming(MAX_GATEWAY_BODY_BYTES, `model requests are limited to ${MAX_GATEWAY_BODY_BYTES} bytes`)

const GATEWAY_PREFIX = '/v1/gateway/'

/** The path below `/v1/gateway/<provider>/` as it arrived, still percent-encoded (Hono's parameters are decoded). */
function pathBelowProvider(pathname: string): string {
  const below = pathname.slice(pathname.indexOf(GATEWAY_PREFIX) + GATEWAY_PREFIX.length)
  return below.slice(below.indexOf('/') + 1)
}

export const gateway = new Hono<AppEnv>().all('/:provider/:rest{.+}', limitGatewayBody, async (c) => {
  const url = new URL(c.req.url)
  // The MAC first: a made-up token costs one HMAC, and names no Durable Object.
  const claimed = await readGatewayToken(tokenOf(c.req.raw.headers, url.searchParams), await deploymentTokenKey(c.env))
  const sessionId = claimed && (await sessionOf(c.env, claimed.owner))
  if (!claimed || !sessionId) throw new ApiError('unauthorized', 'send the sandbox’s gateway token as the provider key')
  const provider = c.req.param('provider')
  const known = routeFor(deploymentRoutes(readSettings(c.env)), provider)
  if (!known) throw new ApiError('not_found', `this deployment has no model provider "${provider}"`)
  const path = apiPath(known.keyStyle, pathBelowProvider(url.pathname))
  const call = checkCall(known.keyStyle, c.req.method, path)
  if (!call.ok) throw new ApiError(call.code, call.message)
  const session = sessionStub(c.env, sessionId)
  const sent = await requestBody(c.req.raw, known.keyStyle, path)
  const { route, key, reservation } = unwrap(await session.gatewayGrant(claimed.digest, provider, sent.call))
  const model = sent.call?.model
  // A granted call is settled exactly once, whichever way it ends.
  const settle = (end: Omit<CallEnd, 'model'>) =>
    session
      .gatewayReport(provider, reservation, { ...end, ...(model && { model }) })
      .catch((err: unknown) => log('warn', 'gateway usage report failed', { sessionId, err: errorMessage(err) }))
  const target = upstreamUrl(route, path, url.searchParams)
  if (!target) {
    await settle({ used: noUsage(), whole: true, billed: false })
    throw new ApiError('bad_request', 'the path leaves the provider’s API')
  }

  const body = sent.body
  let upstream: Response
  try {
    upstream = await fetch(target, {
      method: c.req.method,
      headers: upstreamHeaders(c.req.raw.headers, route, key),
      body,
      redirect: 'manual',
    })
  } catch (err) {
    await settle({ used: noUsage(), whole: true, billed: false })
    // A body past the limit, or refused as it passed, fails as it is sent.
    if (err instanceof ApiError) throw err
    const refusal = sent.refused?.()
    if (refusal) throw refusal
    log('warn', 'model provider unreachable', { sessionId, provider, err: errorMessage(err) })
    throw new ApiError('agent_unreachable', `the model provider "${provider}" could not be reached`)
  }

  // The provider may answer a body cut short before the cut reaches the fetch: the refusal is the answer.
  const refusal = sent.refused?.()
  if (refusal) {
    await upstream.body?.cancel()
    await settle({ used: noUsage(), whole: true, billed: false })
    throw refusal
  }
  const headers = new Headers(upstream.headers)
  headers.delete('set-cookie')
  if (!upstream.body) {
    c.executionCtx.waitUntil(settle({ used: noUsage(), whole: true, billed: upstream.ok }))
    return new Response(null, { status: upstream.status, headers })
  }
  const meter = new UsageMeter((upstream.headers.get('content-type') ?? '').includes('event-stream'))
  // The answer goes back as the runtime's own stream; the meter reads a copy beside it, lazily
  // (see meterCopy), so a burst of pieces costs the Worker a few reads instead of one per piece.
  const [answer, copy] = upstream.body.tee()
  // A copy is read to its end unless told otherwise: the agent hanging up (an aborted turn) must
  // end the provider's answer, so that it stops costing. The runtime's own pipe says when: it
  // fails once the client is gone, and then the copy is dropped too (both branches of a tee
  // cancelled cancel the answer itself).
  const hangUp = new AbortController()
  const toClient = new IdentityTransformStream()
  c.executionCtx.waitUntil(answer.pipeTo(toClient.writable).catch(() => hangUp.abort()))
  c.executionCtx.waitUntil(meterCopy(copy, meter, hangUp.signal).then((read) => settle({ ...read, billed: upstream.ok })))
  return new Response(toClient.readable, { status: upstream.status, headers })
})

/**
 * The body to send on, streamed, and what a paid call (see isPaid) says about its cost, read from
 * its first bytes (see ../gateway/request-body). Its input is estimated from its declared length,
 * else from the whole of it when that fits in the head, else from the largest a request may be.
 * An OpenAI-style streamed chat request is sent with its usage asked for, so that its stream ends with it.
 */
async function requestBody(req: Request, style: KeyStyle, path: string): Promise<{ body?: ReadableStream<Uint8Array>; call?: PaidCall; refused?: () => ApiError | undefined }> {
  if (['GET', 'HEAD'].includes(req.method) || !req.body) return {}
  if (!isPaid(req.method, path)) return { body: req.body }
  const { head, whole, rest } = await readHead(req.body, HEAD_BYTES)
  const declared = req.headers.has('transfer-encoding') ? undefined : Number(req.headers.get('content-length') ?? NaN)
  const headBytes = head.reduce((n, c) => n + c.byteLength, 0)
  const bytes = Number.isFinite(declared) ? declared! : whole ? headBytes : MAX_GATEWAY_BODY_BYTES
  // The head is checked before anything is sent; the rest as it goes (see CostFieldsOnce).
  const fields = new CostFieldsOnce()
  for (const chunk of head) fields.read(chunk)
  if (fields.refusal) throw fields.refusal
  const checked = rest.pipeThrough(fields.transform(headBytes))
  const body = mayAskUsage(style, path) ? checked.pipeThrough(new UsageAsked(style, path).transform()) : checked
  return { body, call: callShape(style, path, costFields(head), bytes), refused: () => fields.refusal }
}

/** Where sandboxes of sessions created through `requestUrl` reach the gateway. */
export function gatewayBase(env: Bindings, requestUrl: string): string {
  return `${readSettings(env).publicUrl ?? new URL(requestUrl).origin}/v1/gateway`
}

/** A session's own keys must be for providers the gateway knows how to reach. */
export function checkModelKeys(env: Bindings, modelKeys: Record<string, string> | undefined) {
  if (!modelKeys) return
  const routes = deploymentRoutes(readSettings(env))
  const unknown = Object.keys(modelKeys).filter((p) => !canRoute(routes, p))
  if (unknown.length > 0) {
    throw new ApiError('validation_failed', `no model provider ${unknown.map((p) => `"${p}"`).join(', ')} is known to this deployment`, [
      ...unknown.map((p) => ({ path: `json.modelKeys.${p}`, message: 'unknown provider', code: 'custom' })),
    ])
  }
}

/**
 * A session or run held by a cost cap (its own `maxCostUsd`, or the tenant's daily or monthly
 * one) must run on a model of known price: the gateway would refuse every call of any other.
 * `model` is the one it asked for, else the deployment's default.
 */
export function requirePricedModel(env: Bindings, model: string | undefined, limits: Limits | undefined) {
  const settings = readSettings(env)
  if (!costCapped(limits, { capPerDay: settings.tenantMaxCostPerDay, capPerMonth: settings.tenantMaxCostPerMonth })) return
  const config = parseDeploymentConfig(settings.opencodeConfig)
  const name = model ?? settings.defaultModel ?? (typeof config.model === 'string' ? config.model : undefined)
  const slash = name?.indexOf('/') ?? -1
  if (!name || slash < 0) return
  const route = routeFor(deploymentRoutes(settings), name.slice(0, slash))
  if (!route || priceOf(route, name.slice(slash + 1))) return
  const message = `model "${name}" has no known price, and a cost cap applies, so the gateway would refuse its every call; give it a \`cost\` in OPENCODE_CONFIG or choose a priced model`
  throw new ApiError('validation_failed', message, [{ path: 'json.model', message: 'no known price while a cost cap applies', code: 'price_unknown' }])
}
