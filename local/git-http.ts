import { spawn } from 'node:child_process'
import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * One smart-HTTP git request answered by \`git http-backend\` (git's own CGI) from the bare
 * repositories under \`root\`; who may ask is the caller's to decide.
 */
export function backend(root: string, url: URL, req: IncomingMessage, res: ServerResponse) {
  const cgi = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: url.pathname,
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_USER: 'x-access-token',
      REMOTE_ADDR: '127.0.0.1',
      ...(req.headers['content-encoding'] && { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }),
      ...(req.headers['git-protocol'] && { GIT_PROTOCOL: String(req.headers['git-protocol']) }),
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  })
  req.pipe(cgi.stdin)
  let head = Buffer.alloc(0)
  let started = false
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (started) return void res.write(chunk)
    head = Buffer.concat([head, chunk])
    const end = head.indexOf('\r\n\r\n')
    if (end < 0) return
    started = true
    let status = 200
    for (const line of head.subarray(0, end).toString().split('\r\n')) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).trim()
      const value = line.slice(colon + 1).trim()
      if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0])
      else res.setHeader(name, value)
    }
    res.writeHead(status)
    res.write(head.subarray(end + 4))
  })
  cgi.on('close', () => res.end())
}
