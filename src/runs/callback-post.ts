import type { Bindings } from '../env'
import { callbackUrlProblem, localCallbacksAllowed, type RunPermissionAsked, type RunView } from '../contracts'
import { callbackKey, signature, timestamped } from './signing'

/**
 * POSTs the run (or what it asks, RunPermissionAsked), which names its tenant, signed over `<X-Timestamp>.<body>` with that tenant's
 * own key (derived from CALLBACK_SECRET; unsigned when it is not set), to a URL checked again
 * now, as the rules may have changed since the run started. A redirect is an answer, not a new
 * destination. Gives the reason when it may not go out.
 */
export async function postCallback(env: Bindings, tenant: string, view: RunView | RunPermissionAsked, url: string): Promise<Response | 'refused'> {
  if (callbackUrlProblem(url, localCallbacksAllowed(env.ALLOW_LOCAL_CALLBACKS))) return 'refused'
  const body = JSON.stringify(view)
  const timestamp = String(Math.floor(Date.now() / 1000))
  const secret = env.CALLBACK_SECRET
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-timestamp': timestamp,
      ...(secret && { 'x-signature-256': await signature(await callbackKey(secret, tenant), timestamped(timestamp, body)) }),
    },
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  })
  await res.body?.cancel()
  return res
}
