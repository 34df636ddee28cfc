import { benchStack, KEY, cleanupAll } from './lib/stack'
import { now, quantile } from './lib/stats'
import { newId } from '../src/lib/ids'
const stack = await benchStack({ WARM_POOL_SIZE: '0' })
try {
  const get = async (id: string) => { const t = now(); const r = await fetch(`${stack.url}/v1/sessions/${id}`, { headers: { authorization: `Bearer ${KEY}` } }); await r.text(); if (r.status !== 404) throw new Error(String(r.status)); return now() - t }
  for (let i = 0; i < 5; i++) await get(newId('ses'))
  const fresh: number[] = [], again: number[] = []
  for (let i = 0; i < 40; i++) { const id = newId('ses'); fresh.push(await get(id)); again.push(await get(id)) }
  console.log(`fresh p50 ${quantile(fresh, 0.5).toFixed(1)} again p50 ${quantile(again, 0.5).toFixed(1)} ratio ${(quantile(fresh,0.5)/quantile(again,0.5)).toFixed(2)}`)
} finally { await cleanupAll() }
