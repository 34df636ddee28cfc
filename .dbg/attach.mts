import { spawn } from '@lydell/node-pty'
import { mkdtempSync } from 'node:fs'
import { startStack } from '/work/wt-terminal/local/stack'
const stack = await startStack({ settings: { API_KEYS: 'k1' }, stateDir: '/tmp/dbgat/state', sandboxRoot: '/tmp/dbgat/sbx', devVars: false, onLog: () => {} })
const H = { authorization: 'Bearer k1', 'content-type': 'application/json' }
const created = await (await fetch(`${stack.url}/v1/sessions`, { method: 'POST', headers: H, body: JSON.stringify({ prompt: 'hello from the api' }) })).json() as any
for (;;) { const s = await (await fetch(`${stack.url}/v1/sessions/${created.id}/messages`, { headers: H })).json() as any; if (s.length >= 2 && s[1].text) { console.log('conv', JSON.stringify(s.map((m: any) => m.text))); break } await new Promise(r => setTimeout(r, 500)) }
const home = mkdtempSync('/tmp/attach-home-')
const url = `${stack.url}/v1/sessions/${created.id}/opencode`
const p = spawn('/work/wt-terminal/node_modules/.bin/opencode', ['attach', url, '-p', 'k1', '-c'], { cols: 120, rows: 40, cwd: home, env: { PATH: process.env.PATH!, HOME: home, TERM: 'xterm-256color' } })
let out = ''
p.onData((d) => (out += d))
p.onExit((e) => console.log('exit', e))
await new Promise(r => setTimeout(r, 20000))
console.log('OUT', JSON.stringify(out.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '').slice(-3000)))
console.log('has', out.includes('hello from the api'))
p.kill()
await stack.close(); process.exit(0)
