import WebSocket from 'ws'
import { startSandboxHost } from '/work/wt-terminal/local/sandbox-host'
const host = await startSandboxHost({ root: '/tmp/dbg-sbx', token: 'tok' })
const res = await fetch(`${host.url}/sandboxes`, { method: 'POST', headers: { authorization: 'Bearer tok', 'content-type': 'application/json' }, body: '{}' })
const sb = await res.json() as any
const ws = new WebSocket(`${host.url.replace('http', 'ws')}/sandboxes/${sb.sandboxId}/terminal?cols=80&rows=24&cwd=${encodeURIComponent(sb.workdir)}`, { headers: { authorization: 'Bearer tok' } })
ws.on('message', (d, bin) => console.log(bin ? 'OUT' : 'MSG', JSON.stringify(d.toString())))
ws.on('unexpected-response', (_q, r) => console.log('status', r.statusCode))
ws.on('open', () => { console.log('open'); ws.send(Buffer.from('echo hi\r'), { binary: true }); setTimeout(() => ws.send(Buffer.from('exit 3\r'), { binary: true }), 500) })
ws.on('close', async (c) => { console.log('closed', c); await host.close(); process.exit(0) })
