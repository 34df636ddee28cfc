// @ts-check
// The terminal pane: a shell in the session's sandbox, drawn by xterm.js (from npm, served from
// /vendor/xterm/). The socket opens on a terminal token (a WebSocket cannot send headers), never
// the key; it lives an hour at most and opens nothing but the terminal.
import { $ } from '../dom.js'
import { call, sessionPath } from './api.js'
import { tab } from './state.js'

const XTERM = '/vendor/xterm/xterm.mjs'
const SIZE = { cols: 100, rows: 24 }

/** @type {{ socket: WebSocket, term: any } | undefined} */
let open

/** @param {string} text */
const say = (text) => void ($('terminal-state').textContent = text)

export async function openTerminal() {
  closeTerminal()
  const id = tab.sessionId
  $('terminal').hidden = false
  say('opening…')
  try {
    // A specifier in a variable: the module is a static file of this origin, not one of ours to type-check.
    const { Terminal } = await import(XTERM)
    const { token } = await call('POST', sessionPath('/tokens'), { scope: 'terminal', ttlSeconds: 3600 })
    if (id !== tab.sessionId || $('terminal').hidden) return
    const term = new Terminal({ ...SIZE, fontSize: 13, convertEol: false })
    $('terminal-screen').replaceChildren()
    term.open($('terminal-screen'))
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
    const query = new URLSearchParams({ token, cols: String(SIZE.cols), rows: String(SIZE.rows) })
    const socket = new WebSocket(`${scheme}//${location.host}${sessionPath('/terminal')}?${query}`)
    socket.binaryType = 'arraybuffer'
    open = { socket, term }
    socket.addEventListener('open', () => {
      say('connected')
      term.focus()
    })
    socket.addEventListener('message', (e) => {
      if (typeof e.data !== 'string') return term.write(new Uint8Array(e.data))
      const said = JSON.parse(e.data)
      if (said.type === 'exit') term.write(`\r\n[the shell exited${said.exitCode === null ? '' : ` with ${said.exitCode}`}]\r\n`)
    })
    socket.addEventListener('close', (e) => say(`closed${e.reason ? `: ${e.reason}` : ''}`))
    term.onData((/** @type {string} */ data) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'input', data }))
    })
  } catch (err) {
    say(err instanceof Error ? err.message : String(err))
  }
}

export function closeTerminal() {
  open?.socket.close(1000)
  open?.term.dispose()
  open = undefined
  $('terminal').hidden = true
}
