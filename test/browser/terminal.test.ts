import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, waitFor } from '../helpers'
import { BROWSER_KEY, openTab, startHarness, type Harness } from './harness'

// Functions given to page.evaluate run in the page; the project compiles without the DOM lib.
declare const document: any

/** The playground's terminal pane in Chromium: xterm.js from npm, a shell in the session's sandbox; and a preview of what it serves. */

let h: Harness

beforeAll(async () => {
  h = await startHarness('terminal')
})

afterAll(async () => {
  await h?.close()
})

describe('the playground’s terminal pane', () => {
  it('opens a shell in the session’s sandbox, on a terminal token, and shows what it prints; a server it starts opens as a preview', async () => {
    const tab = await openTab(h.browser, `${h.stack.url}/`)
    const { page } = tab
    const sockets: string[] = []
    page.on('websocket', (ws) => sockets.push(ws.url()))
    try {
      await page.fill('#api-key', BROWSER_KEY)
      await page.click('#save-key')
      await page.click('#start')
      await page.locator('#session-status[data-v=idle]').waitFor({ timeout: 120_000 })
      const id = (await page.textContent('#session-id'))!

      await page.click('#show-terminal')
      await page.locator('#terminal-state', { hasText: 'connected' }).waitFor()
      const screen = () => page.evaluate(() => document.querySelector('#terminal-screen .xterm-rows')?.textContent ?? '')
      await waitFor('the shell’s prompt', async () => /workspace/.test(await screen()))
      await page.keyboard.type('echo pl$((1+1))ay\n')
      await waitFor('the shell’s answer on the screen', async () => (await screen()).includes('pl2ay'))
      // The key went into no URL: the socket opened on a terminal token.
      const urls = [...tab.requests.map((r) => r.url()), ...sockets]
      expect(urls.some((url) => url.includes(BROWSER_KEY))).toBe(false)
      expect(sockets).toEqual([expect.stringMatching(new RegExp(`/v1/sessions/${id}/terminal\\?token=`))])
      expect(tab.problems).toEqual([])

      // A server started in the terminal is announced, and its preview opens in a new tab.
      await page.keyboard.type(`node -e "require('http').createServer((q, s) => s.end('from the play' + 'ground')).listen(0)" &\n`)
      const open = page.locator('#ports button')
      await open.waitFor({ timeout: 60_000 })
      expect(await open.textContent()).toMatch(/^Open preview :\d+$/)
      const opened = tab.context.waitForEvent('page')
      await open.click()
      const preview = await opened
      await preview.waitForLoadState()
      await waitFor('the preview’s page', async () => ((await preview.textContent('body').catch(() => '')) ?? '').includes('from the playground'))
      expect(preview.url()).toMatch(new RegExp(`^${h.stack.url}/preview/[^/]+/$`))
      expect(preview.url()).not.toContain(BROWSER_KEY)

      await api(`/v1/sessions/${id}`, { method: 'DELETE', key: BROWSER_KEY })
      await page.locator('#terminal-state', { hasText: 'the session ended' }).waitFor()
    } finally {
      await tab.close()
    }
  })
})
