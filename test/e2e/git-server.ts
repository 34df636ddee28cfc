import { createServer } from 'node:http'
import { backend } from '../../local/git-http'

export type GitServer = {
  url: string
  /** every request's Authorization outcome, in order: whether it carried the expected password */
  requests: { path: string; authorized: boolean }[]
  close(): Promise<void>
}

/**
 * A private git host: `git http-backend` (git's own smart-HTTP CGI) behind HTTP Basic auth on
 * 127.0.0.1, serving the bare repositories under `root` to whoever sends `password` (or one of
 * `others`: tokens of other people with access).
 */
export async function startGitServer(root: string, password: string, ...others: string[]): Promise<GitServer> {
  const requests: GitServer['requests'] = []
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const [scheme, encoded] = (req.headers.authorization ?? '').split(' ')
    const given = scheme === 'Basic' && encoded ? Buffer.from(encoded, 'base64').toString() : ''
    const authorized = [password, ...others].includes(given.slice(given.indexOf(':') + 1)) && given.includes(':')
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
