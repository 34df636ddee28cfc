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
    const text = await res.text()
    if (res.status < 200 || res.status >= 300) throw new GitHubError(res.status, `${method} ${path} answered ${res.status}${githubMessage(text)}`)
    return (text ? JSON.parse(text) : undefined) as T
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
