import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, waitFor } from '../helpers'
import { BROWSER_KEY, openTab, startHarness, type Harness } from './harness'

// Functions given to page.evaluate run in the page; the project compiles without the DOM lib.
declare const document: any

/** The playground's terminal pane in Chromium: xterm.js from npm, a shell in the session's sandbox. */

let h: Harness

beforeAll(async () => {
  h = await startHarness('terminal')
})

afterAll(async () => {
  await h?.close()
})

describe('the playground’s terminal pane', () => {
  it('opens a shell in the session’s sandbox, on a terminal token, and shows what it prints', async () => {
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

      await api(`/v1/sessions/${id}`, { method: 'DELETE', key: BROWSER_KEY })
      await page.locator('#terminal-state', { hasText: 'the session ended' }).waitFor()
    } finally {
      await tab.close()
    }
  })
})
