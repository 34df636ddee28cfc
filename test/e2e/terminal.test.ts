import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, baseUrl, newIdleSession, streamFromNow, TEST_KEYS, waitFor } from './helpers'
import { openTerminal, terminalOf, type TerminalClient } from '../helpers/terminal'
import { echoThrough, resignedPreview, startedServerPort } from '../helpers/preview-server'

const OWNER = TEST_KEYS[0]
const STRANGER = TEST_KEYS[1]

async function token(id: string, body: Record<string, unknown> = {}): Promise<string> {
  const res = await api(`/v1/sessions/${id}/tokens`, { body, key: OWNER })
  expect(res.status).toBe(201)
  return res.body.token as string
}

describe('a terminal in the session’s sandbox', () => {
  let id: string
  beforeAll(async () => {
    // bash allowed: the previews' tests have the agent start a server.
    id = await newIdleSession({ files: [{ path: 'marker.txt', content: 'in the workspace\n' }], permissions: { bash: 'allow' } }, OWNER)
  })
  afterAll(async () => {
    await api(`/v1/sessions/${id}`, { method: 'DELETE', key: OWNER })
  })

  it('runs a shell in the workspace: echo, resize, and exit with its code', async () => {
    const terminal = await terminalOf(id, { key: OWNER }, { cols: '80', rows: '24' })
    terminal.type('cat marker.txt; echo sum-$((40+2))\r')
    await terminal.until(/in the workspace[\s\S]*sum-42/)
    // Raw bytes are input too, as a terminal emulator may send them.
    terminal.sendBytes(Buffer.from('stty size\r'))
    await terminal.until(/24 80\r\n/)
    terminal.send({ type: 'resize', cols: 120, rows: 33 })
    const mark = terminal.output().length
    terminal.type('stty size\r')
    await terminal.until(/33 120\r\n/, mark)
    terminal.type('exit 7\r')
    expect(await terminal.closed()).toEqual({ code: 1000, reason: 'the shell exited' })
    expect(terminal.messages()).toEqual([{ type: 'exit', exitCode: 7 }])
  })

  it('opens with the API key or a terminal token, never a read-only token, another tenant’s key, or nothing', async () => {
    const read = await token(id)
    const terminalToken = await token(id, { scope: 'terminal', ttlSeconds: 120 })
    expect(await openTerminal(id, { token: read })).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } })
    expect(await openTerminal(id, { key: STRANGER })).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } })
    expect(await openTerminal(id, { none: true })).toMatchObject({ status: 401 })
    expect(await openTerminal(id, { basic: read })).toMatchObject({ status: 403 })
    // A terminal token opens nothing else, not even what a read-only token reads.
    expect((await api(`/v1/sessions/${id}?token=${terminalToken}`, { key: null })).status).toBe(403)
    const other = await newIdleSession({}, OWNER)
    expect(await openTerminal(other, { token: terminalToken })).toMatchObject({ status: 401 })
    await api(`/v1/sessions/${other}`, { method: 'DELETE', key: OWNER })

    const terminal = await terminalOf(id, { token: terminalToken })
    terminal.type('echo by-$((1))-token\r')
    await terminal.until(/by-1-token/)
    terminal.close()
    await terminal.closed()
  })

  it('refuses what is not a terminal: a plain GET, a bad size, a malformed frame, a frame over 64 KiB', async () => {
    const plain = await api(`/v1/sessions/${id}/terminal`, { key: OWNER })
    expect(plain.status).toBe(426)
    expect(plain.body.error.code).toBe('upgrade_required')
    expect(await openTerminal(id, { key: OWNER }, { cols: '0' })).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } })

    const malformed = await terminalOf(id, { key: OWNER })
    malformed.send({ type: 'resize', cols: 1_000_000, rows: 1 })
    expect((await malformed.closed()).code).toBe(1003)
    const flooded = await terminalOf(id, { key: OWNER })
    flooded.sendBytes(Buffer.alloc(64 * 1024 + 1, 'a'))
    expect((await flooded.closed()).code).toBe(1009)
  })

  it('holds three terminals at once: the fourth is refused until one closes', async () => {
    const open: TerminalClient[] = []
    for (let i = 0; i < 3; i++) open.push(await terminalOf(id, { key: OWNER }))
    expect(await openTerminal(id, { key: OWNER })).toMatchObject({ status: 429, body: { error: { code: 'too_many_requests' } } })
    open.pop()!.close()
    const again = await waitFor('a place to free up', async () => {
      const opening = await openTerminal(id, { key: OWNER })
      return 'terminal' in opening ? opening.terminal : undefined
    })
    for (const terminal of [...open, again]) terminal.close()
    await Promise.all([...open, again].map((terminal) => terminal.closed()))
  })

  it('counts its traffic as activity, never as events', async () => {
    const terminal = await terminalOf(id, { key: OWNER })
    const before = (await api(`/v1/sessions/${id}`, { key: OWNER })).body
    // Typing goes on until the idle deadline has moved past where it stood once the terminal was open.
    await waitFor('typing to move the idle deadline', async () => {
      terminal.type('true\r')
      const now = (await api(`/v1/sessions/${id}`, { key: OWNER })).body
      return Date.parse(now.expiresAt) > Date.parse(before.expiresAt)
    })
    terminal.type('echo quiet-$((6*7))\r')
    await terminal.until(/quiet-42/)
    terminal.close()
    await terminal.closed()
    const after = (await api(`/v1/sessions/${id}`, { key: OWNER })).body
    expect(after.lastEventId).toBe(before.lastEventId)
  })

  describe('previews of its ports', () => {
    let preview: string
    let port: number

    it('announces the port the agent’s server listens on, and serves it over HTTP and WebSocket at a preview URL', async () => {
      const stream = await streamFromNow(id)
      port = await startedServerPort(id, stream, 'preview-e2e')
      await stream.close()
      const made = await api(`/v1/sessions/${id}/previews`, { body: { port }, key: OWNER })
      expect(made.status).toBe(201)
      preview = made.body.url as string
      expect(preview).toMatch(new RegExp(`^${baseUrl()}/preview/[^/]+/$`))
      expect(Date.parse(made.body.expiresAt)).toBeGreaterThan(Date.now())

      // The browser's cookies and credentials stay with the browser; the page is kept from the API's origin.
      const page = await fetch(`${preview}hello?x=1`, { headers: { cookie: 'c=1', authorization: `Bearer ${OWNER}` } })
      expect(page.status).toBe(200)
      expect(await page.text()).toBe('preview-ok GET /hello?x=1 cookie= auth=')
      expect(page.headers.get('content-security-policy')).toMatch(/^sandbox /)
      expect(page.headers.get('referrer-policy')).toBe('no-referrer')
      expect(await echoThrough(`${preview}hot-reload`, 'ping')).toBe('echo:ping')
      // The bare prefix leads to the page's folder, so that its relative links resolve under it.
      const bare = await fetch(preview.slice(0, -1), { redirect: 'manual' })
      expect(bare.headers.get('location')).toBe(new URL(preview).pathname)
    })

    it('opens to its URL only: not another tenant, a stale or forged token, the API key; and it opens nothing of the API', async () => {
      expect((await api(`/v1/sessions/${id}/previews`, { body: { port }, key: STRANGER })).status).toBe(404)
      expect((await api(`/v1/sessions/${id}/previews`, { body: { port: 1 }, key: OWNER })).body.error.code).toBe('not_found')
      const stale = resignedPreview(preview, { exp: Math.floor(Date.now() / 1000) - 5 }, OWNER)
      const forged = resignedPreview(preview, {}, STRANGER)
      const apiKeyAsToken = `${baseUrl()}/preview/${OWNER}/`
      for (const refused of [stale, forged, apiKeyAsToken]) {
        const res = await fetch(refused)
        expect(res.status).toBe(401)
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized')
      }
      // The API key opens no preview either, however it is sent.
      expect((await fetch(apiKeyAsToken, { headers: { authorization: `Bearer ${OWNER}` } })).status).toBe(401)
      // Under the preview's URL, every path is the sandbox's server's, never the API's.
      expect(await (await fetch(`${preview}v1/sessions/${id}`)).text()).toBe(`preview-ok GET /v1/sessions/${id} cookie= auth=`)
      // And its token opens nothing of the API.
      const token = /\/preview\/([^/]+)\//.exec(preview)![1]!
      for (const path of [`/v1/sessions/${id}`, `/v1/sessions/${id}/events`, `/v1/sessions/${id}/terminal`, `/v1/sessions/${id}/opencode/session`]) {
        expect((await api(`${path}?token=${token}`, { key: null })).status).toBe(403)
      }
      expect((await api(`/v1/sessions/${id}`, { key: token })).status).toBe(401)
    })
  })
})

describe('a terminal when the session ends', () => {
  it('closes, saying so, and the ended session opens no other', async () => {
    const id = await newIdleSession({}, OWNER)
    const terminal = await terminalOf(id, { key: OWNER })
    terminal.type('echo op$((0))en\r')
    await terminal.until(/op0en/)
    expect((await api(`/v1/sessions/${id}`, { method: 'DELETE', key: OWNER })).status).toBe(200)
    expect(await terminal.closed()).toEqual({ code: 4003, reason: 'the session ended' })
    expect(await openTerminal(id, { key: OWNER })).toMatchObject({ status: 409 })
  })
})
