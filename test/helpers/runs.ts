import { createHmac } from 'node:crypto'
import { api, type Json } from './http'
import { waitFor } from './wait'

/** A signature header's value as GitHub and our webhooks write it: `sha256=` and the HMAC of `data` in hex. */
export const sign = (secret: string, data: string) => `sha256=${createHmac('sha256', secret).update(data).digest('hex')}`

/** A webhook delivery: a raw JSON body and the sender's headers, with no API key. */
export const webhook = (path: string, body: string, headers: Record<string, string>) =>
  api(path, { method: 'POST', body, headers, key: null })

/** Waits until run `id` (of `key`'s tenant, the first key's by default) has finished, whichever way, and returns it. */
export function finished(id: string, key?: string): Promise<Json> {
  return waitFor(
    `run ${id} to finish`,
    async () => {
      const res = await api(`/v1/runs/${id}`, { key })
      return ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(res.body.status as string) ? res.body : undefined
    },
    120_000,
  )
}
