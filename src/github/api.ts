import { apiBase } from './repo-url'

/** GitHub answered other than 2xx (or not at all: `status` undefined). */
export class GitHubError extends Error {
  constructor(
    readonly status: number | undefined,
    message: string,
  ) {
    super(message)
    this.name = 'GitHubError'
  }
}

/** GitHub's REST API under one credential (an installation token, a personal token, or an App's JWT). */
export class GitHubApi {
  private readonly base: string
  constructor(
    apiUrl: string | undefined,
    private readonly credential: string | undefined,
  ) {
    this.base = apiBase(apiUrl)
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body)
    const text = await res.text()
    if (res.status < 200 || res.status >= 300) throw new GitHubError(res.status, `${method} ${path} answered ${res.status}${githubMessage(text)}`)
    return (text ? JSON.parse(text) : undefined) as T
  }

  /**
   * A text resource (a job's log), of which GitHub answers with a redirect to a short-lived
   * download URL: fetched without our credential, its first `maxBytes` only.
   */
  async text(path: string, maxBytes: number): Promise<string> {
    const res = await this.send('GET', path)
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null
    await res.body?.cancel()
    if (!location) throw new GitHubError(res.status, `GET ${path} answered ${res.status}, not a download`)
    const download = await fetch(location, { signal: AbortSignal.timeout(30_000) }).catch(() => {
      throw new GitHubError(undefined, `the download of ${path} could not be reached`)
    })
    if (!download.ok || !download.body) {
      await download.body?.cancel()
      throw new GitHubError(download.status, `the download of ${path} answered ${download.status}`)
    }
    return readUpTo(download.body, maxBytes)
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          accept: 'application/vnd.github+json',
          'x-github-api-version': '2022-11-28',
          'user-agent': 'opencode-sandbox-worker',
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...(this.credential && { authorization: `Bearer ${this.credential}` }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        redirect: 'manual',
        signal: AbortSignal.timeout(30_000),
      })
    } catch {
      throw new GitHubError(undefined, `GitHub could not be reached (${method} ${path})`)
    }
    return res
  }
}

/** GitHub's own `message` of an error body, short; never the body whole. */
function githubMessage(text: string): string {
  try {
    const message = (JSON.parse(text) as { message?: unknown }).message
    return typeof message === 'string' && message ? `: ${message.slice(0, 300)}` : ''
  } catch {
    return ''
  }
}

/** A body's start as text, at most `maxBytes`: the rest is never read. */
async function readUpTo(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<string> {
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  while (size < maxBytes) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.byteLength
  }
  await reader.cancel()
  const whole = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    whole.set(c, at)
    at += c.byteLength
  }
  return new TextDecoder().decode(whole.subarray(0, maxBytes))
}
