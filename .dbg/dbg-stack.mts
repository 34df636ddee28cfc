import WebSocket from 'ws'
import { startStack } from '/work/wt-terminal/local/stack'
const stack = await startStack({ settings: { API_KEYS: 'k1' }, stateDir: '/tmp/dbgst/state', sandboxRoot: '/tmp/dbgst/sbx', devVars: false, onLog: (l) => process.stdout.write('LOG ' + l) })
const H = { authorization: 'Bearer k1', 'content-type': 'application/json' }
const created = await (await fetch(`${stack.url}/v1/sessions`, { method: 'POST', headers: H, body: '{}' })).json() as any
for (;;) { const s = await (await fetch(`${stack.url}/v1/sessions/${created.id}`, { headers: H })).json() as any; if (s.status === 'idle') break; await new Promise(r => setTimeout(r, 300)) }
console.log('idle')
const ws = new WebSocket(`${stack.url.replace('http', 'ws')}/v1/sessions/${created.id}/terminal`, { headers: { authorization: 'Bearer k1' } })
ws.on('message', (d, bin) => console.log(bin ? 'OUT' : 'MSG', JSON.stringify(d.toString())))
ws.on('unexpected-response', (_q, r) => console.log('status', r.statusCode))
ws.on('open', () => { console.log('open'); ws.send(JSON.stringify({type:'input', data: 'echo hi\r'})); setTimeout(() => ws.send(Buffer.from('exit 3\r'), { binary: true }), 1500) })
const done = new Promise(r => ws.on('close', (c) => { console.log('closed', c); r(0) }))
await Promise.race([done, new Promise(r => setTimeout(r, 8000))])
await stack.close(); process.exit(0)
