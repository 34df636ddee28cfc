import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A stand-in for the internet, as an HTTP proxy on 127.0.0.1: a sandbox whose agent is given it
 * as `HTTPS_PROXY`/`HTTP_PROXY` (and the gateway's host as `NO_PROXY`) sends it every call it
 * would make elsewhere instead of making it; the recorder notes where each went (`host:port` of a
 * CONNECT, or the URL of a plain request) and refuses it. What it saw holds for the agent's whole
 * life, however brief each call, unlike a look at its sockets; it sees only what honours the
 * proxy settings (Claude Code's and Codex's HTTP clients do).
 */
export async function startEgressRecorder() {
  const seen: string[] = []
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    res.writeHead(403).end()
  })
  server.on('connect', (req, socket) => {
    seen.push(`CONNECT ${req.url}`)
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    /** The environment that sends a process's calls here, `direct` (hosts) aside. */
    env: (direct: string[]) => ({ HTTPS_PROXY: url, HTTP_PROXY: url, NO_PROXY: direct.join(','), https_proxy: url, http_proxy: url, no_proxy: direct.join(',') }),
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
