import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'

export type GitServer = {
  url: string
  /** every request's Authorization outcome, in order: whether it carried the expected password */
  requests: { path: string; authorized: boolean }[]
  close(): Promise<void>
}

/**
 * A private git host: `git http-backend` (git's own smart-HTTP CGI) behind HTTP Basic auth on
 * 127.0.0.1, serving the bare repositories under `root` to whoever sends `password`.
 */
export async function startGitServer(root: string, password: string): Promise<GitServer> {
  const requests: GitServer['requests'] = []
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const [scheme, encoded] = (req.headers.authorization ?? '').split(' ')
    const given = scheme === 'Basic' && encoded ? Buffer.from(encoded, 'base64').toString() : ''
    const authorized = given.slice(given.indexOf(':') + 1) === password && given.includes(':')
    requests.push({ path: url.pathname, authorized })
    if (!authorized) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="private"' }).end()
      return
    }
    backend(root, url, req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

function backend(root: string, url: URL, req: IncomingMessage, res: ServerResponse) {
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
