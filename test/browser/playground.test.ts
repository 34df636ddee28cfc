import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, COLOUR_QUESTION, createSession, sandboxesOf, scripted, waitFor, words, type Json } from '../helpers'
import { BROWSER_KEY, openTab, startHarness, type Harness, type Tab } from './harness'

// Functions given to page.evaluate run in the page; the project compiles without the DOM lib.
declare const document: any
declare const window: any
declare const MutationObserver: any
declare const DataTransfer: any
declare const ClipboardEvent: any
declare const File: any

/**
 * The playground (public/index.html) in Chromium against a whole local stack: a session
 * started from the page, a reply streamed into it, a permission and a question answered with
 * its buttons, a reload mid-stream, and the API key kept out of every URL; then what frontends
 * need beyond a chat: the tenant's sessions to reopen, the agent's todo list, a sub-agent's work
 * inside the task call that started it, files attached from the picker or pasted, the workspace's
 * changes, undo and redo, and forks.
 */

let h: Harness

beforeAll(async () => {
  h = await startHarness('playground')
})

afterAll(async () => {
  await h?.close()
})

/** The text of the assistant message that answers the user message whose text contains `marker`. */
const replyText = (page: Page, marker: string) =>
  page.evaluate((m) => {
    const bubbles = [...document.querySelectorAll('#log .msg')]
    const at = bubbles.findIndex((b) => b.dataset.role === 'user' && (b.textContent ?? '').includes(m))
    const reply = bubbles.slice(at + 1).find((b) => b.dataset.role === 'assistant' && b.querySelector('.text'))
    if (at < 0 || !reply) return undefined
    const text = [...reply.querySelectorAll('.text')].map((t) => t.textContent).join('')
    return { text, completed: reply.dataset.completed === 'true', filled: reply.dataset.filled === 'true', id: reply.dataset.messageId! }
  }, marker)

/** Pastes the key, starts a session and waits until the page shows it idle with its sandbox ready. */
async function startFromPage(tab: Tab): Promise<string> {
  const { page } = tab
  await page.fill('#api-key', BROWSER_KEY)
  await page.click('#save-key')
  await page.click('#start')
  await page.locator('#session-status[data-v=idle]').waitFor({ timeout: 120_000 })
  await page.locator('#sandbox-state[data-v=ready]').waitFor()
  const id = (await page.textContent('#session-id'))!
  expect(id).toMatch(/^ses_/)
  return id
}

async function say(page: Page, text: string) {
  await page.fill('#message', text)
  await page.click('#send')
}

/** No request the page made carries the key in its URL; the key travels in Authorization headers only. */
function expectKeyOnlyInHeaders(tab: Tab) {
  const urls = tab.requests.map((r) => r.url())
  expect(urls.filter((u) => u.includes(BROWSER_KEY) || decodeURIComponent(u).includes(BROWSER_KEY))).toEqual([])
  const apiCalls = tab.requests.filter((r) => new URL(r.url()).pathname.startsWith('/v1/'))
  expect(apiCalls.length).toBeGreaterThan(0)
  for (const r of apiCalls) {
    const path = new URL(r.url()).pathname
    if (path.endsWith('/events')) {
      // EventSource cannot send headers: it opens the stream with a session token
      expect(new URL(r.url()).searchParams.get('token')).toBeTruthy()
      expect(r.headers().authorization).toBeUndefined()
    } else {
      expect(r.headers().authorization).toBe(`Bearer ${BROWSER_KEY}`)
    }
  }
  expect(tab.problems).toEqual([])
}

async function endSession(id: string) {
  await api(`/v1/sessions/${id}`, { method: 'DELETE', key: BROWSER_KEY })
}

describe('the playground', () => {
  it('starts a session with honest progress and streams a reply as it is written', async () => {
    const tab = await openTab(h.browser, h.stack.url)
    let id: string | undefined
    try {
      expect(await tab.page.title()).toContain('Playground')
      id = await startFromPage(tab)

      // the start steps the sandbox reported: creating and starting the agent happened, cloning did not (no repository)
      const steps = await tab.page.$$eval('#progress li', (lis) => lis.map((li) => [li.getAttribute('data-step'), li.getAttribute('data-state')]))
      expect(steps).toEqual(
        expect.arrayContaining([
          ['creating', 'done'],
          ['cloning', 'skipped'],
          ['starting_agent', 'done'],
          ['ready', 'done'],
        ]),
      )

      const reply = words(24, 'grow')
      await say(tab.page, scripted({ reply, chunks: 8, delayMs: 400 }, 'stream-test'))
      // a part of the reply shows while the message is still being written...
      const partial = await tab.page.waitForFunction(
        (full) => {
          const m = document.querySelector('#log .msg.assistant.streaming')
          const text = m ? [...m.querySelectorAll('.text')].map((t) => t.textContent).join('') : ''
          return text.length > 0 && text.length < full.length && m?.dataset.completed !== 'true' ? text : false
        },
        reply,
        { timeout: 60_000, polling: 20 },
      )
      const partialText = (await partial.jsonValue()) as string
      expect(reply.startsWith(partialText)).toBe(true)
      // ...and grows to the whole reply
      await tab.page.locator('#log .msg.assistant[data-completed=true]').first().waitFor()
      const done = await replyText(tab.page, 'stream-test')
      expect(done).toMatchObject({ text: reply, completed: true, filled: false })
      expect(partialText.length).toBeLessThan(done!.text.length)
      expectKeyOnlyInHeaders(tab)
    } finally {
      await tab.close()
      if (id) await endSession(id)
    }
  })

  it('asks before running a command, runs it once approved with the button, and shows its output', async () => {
    const tab = await openTab(h.browser, h.stack.url)
    let id: string | undefined
    try {
      id = await startFromPage(tab)
      const workdir = (await sandboxesOf(id))[0]!.workdir
      const command = 'touch from-browser.txt && echo created-from-the-browser'
      await say(tab.page, scripted({ steps: [{ tool: { name: 'bash', args: { command, description: 'Make a file' } } }, { text: 'the tool said: {{tool_result}}' }] }, 'perm-test'))

      const ask = tab.page.locator('#log .ask.permission')
      await ask.waitFor()
      expect(await ask.textContent()).toContain(command)
      expect(existsSync(join(workdir, 'from-browser.txt'))).toBe(false)
      await ask.locator('button[data-reply=once]').click()

      const tool = tab.page.locator('#log .tool[data-tool=bash][data-state=completed]')
      await tool.waitFor()
      expect(await tool.locator('.tool-input').textContent()).toContain(command)
      expect(await tool.locator('.tool-output').textContent()).toContain('created-from-the-browser')
      await tab.page.locator('#log .ask.permission.resolved').waitFor()
      expect(await ask.getAttribute('data-outcome')).toBe('answered: once')
      expect(await ask.locator('button').evaluateAll((bs) => bs.every((b) => b.disabled))).toBe(true)

      await tab.page.waitForFunction(() => document.querySelectorAll('#log .msg.assistant[data-completed=true] .text').length > 0)
      expect((await replyText(tab.page, 'perm-test'))?.text).toContain('created-from-the-browser')
      const listing = await sandboxesOf(id)
      expect(listing).toHaveLength(1)
      expect(existsSync(join(listing[0]!.workdir, 'from-browser.txt'))).toBe(true)
      expectKeyOnlyInHeaders(tab)
    } finally {
      await tab.close()
      if (id) await endSession(id)
    }
  })

  it('answers a question from the agent with a button', async () => {
    const tab = await openTab(h.browser, h.stack.url)
    let id: string | undefined
    try {
      id = await startFromPage(tab)
      await say(tab.page, scripted({ steps: [COLOUR_QUESTION, { text: 'the answer was {{tool_result}}' }] }, 'question-test'))
      const card = tab.page.locator('#log .ask.question')
      await card.waitFor()
      expect(await card.textContent()).toContain('Which colour should the button be?')
      await card.locator('button[data-label=Blue]').click()
      await tab.page.locator('#log .ask.question.resolved').waitFor()
      expect(await card.getAttribute('data-outcome')).toBe('answered: Blue')
      await tab.page.waitForFunction(() =>
        [...document.querySelectorAll('#log .msg.assistant[data-completed=true] .text')].some((t) => (t.textContent ?? '').includes('the answer was')),
      )
      expect((await replyText(tab.page, 'question-test'))?.text).toContain('Blue')
      const session = await api(`/v1/sessions/${id}`, { key: BROWSER_KEY })
      expect(session.body.pending.questions).toEqual([])
      expectKeyOnlyInHeaders(tab)
    } finally {
      await tab.close()
      if (id) await endSession(id)
    }
  })

  it('continues the conversation after a reload mid-stream, without gaps or duplicates', async () => {
    const tab = await openTab(h.browser, h.stack.url)
    let id: string | undefined
    try {
      id = await startFromPage(tab)
      const first = words(6, 'before')
      await say(tab.page, scripted({ reply: first }, 'turn-one'))
      await tab.page.waitForFunction(() => document.querySelectorAll('#log .msg.assistant[data-completed=true]').length === 1)

      const reply = words(60, 'mid')
      await say(tab.page, scripted({ reply, chunks: 60, delayMs: 150 }, 'turn-two'))
      await tab.page.waitForFunction(
        () => {
          const m = document.querySelector('#log .msg.assistant.streaming')
          return m !== null && (m.textContent ?? '').includes('mid5 ')
        },
        undefined,
        { polling: 20, timeout: 60_000 },
      )
      const before = await replyText(tab.page, 'turn-two')
      expect(before?.completed).toBe(false)

      // After the reload, watch every state the reply goes through: each must be a prefix of the
      // reply (a gap or a repeated piece would not be), and it must still be streaming at first.
      await tab.page.addInitScript(() => {
        const seen: { text: string; completed: boolean }[] = []
        ;window.__seen = seen
        const look = () => {
          const bubbles = [...document.querySelectorAll('#log .msg.assistant')]
          const last = bubbles[1]
          if (!last) return
          const text = [...last.querySelectorAll('.text')].map((t) => t.textContent).join('')
          const prev = seen[seen.length - 1]
          const completed = last.dataset.completed === 'true'
          if (!prev || prev.text !== text || prev.completed !== completed) seen.push({ text, completed })
        }
        new MutationObserver(look).observe(document, { subtree: true, childList: true, characterData: true, attributes: true })
      })
      await tab.page.reload()
      await tab.page.waitForFunction(
        () => document.querySelectorAll('#log .msg.assistant[data-completed=true]').length === 2,
        undefined,
        { timeout: 60_000 },
      )

      const seen: { text: string; completed: boolean }[] = await tab.page.evaluate(() => window.__seen)
      for (const s of seen) expect(reply.startsWith(s.text), `"${s.text}" is not a prefix of the reply`).toBe(true)
      expect(seen.some((s) => !s.completed && s.text.length > 0 && s.text.length < reply.length)).toBe(true)
      const after = await replyText(tab.page, 'turn-two')
      expect(after).toMatchObject({ text: reply, completed: true, filled: false, id: before!.id })

      // the whole conversation, once: two user messages, two replies, in order
      const transcript = await tab.page.$$eval('#log .msg', (ms) => ms.map((m) => [m.dataset.role, m.dataset.messageId]))
      expect(transcript.map((t) => t[0])).toEqual(['user', 'assistant', 'user', 'assistant'])
      expect(new Set(transcript.map((t) => t[1])).size).toBe(4)
      expect((await replyText(tab.page, 'turn-one'))?.text).toBe(first)
      expect(await tab.page.textContent('#session-id')).toBe(id)
      expect(Number(await tab.page.textContent('#last-event-id'))).toBe((await api(`/v1/sessions/${id}`, { key: BROWSER_KEY })).body.lastEventId)
      expectKeyOnlyInHeaders(tab)
    } finally {
      await tab.close()
      if (id) await endSession(id)
    }
  })

  it('renews the stream token before it expires and keeps streaming on the new one', async () => {
    // ?tokenTtl=10 makes the page ask for 10-second tokens, so it renews one within the test
    const tab = await openTab(h.browser, `${h.stack.url}/?tokenTtl=10`)
    let id: string | undefined
    try {
      id = await startFromPage(tab)
      const streams = () => tab.requests.filter((r) => new URL(r.url()).pathname.endsWith('/events'))
      const tokens = () => new Set(streams().map((r) => new URL(r.url()).searchParams.get('token')))
      await waitFor('a second stream on a new token', async () => tokens().size >= 2, 60_000)
      await tab.page.locator('#stream-state[data-v=open]').waitFor()

      const reply = words(12, 'renewed')
      await say(tab.page, scripted({ reply, chunks: 4, delayMs: 100 }, 'renew-test'))
      await tab.page.waitForFunction(() => document.querySelectorAll('#log .msg.assistant[data-completed=true]').length === 1, undefined, { timeout: 60_000 })
      expect(await replyText(tab.page, 'renew-test')).toMatchObject({ text: reply, completed: true, filled: false })
      // each new stream started after the last event the page had applied, and nothing showed twice
      expect(streams().slice(1).every((r) => Number(new URL(r.url()).searchParams.get('after')) > 0)).toBe(true)
      expect(await tab.page.$$eval('#log .msg', (ms) => ms.length)).toBe(2)
      expectKeyOnlyInHeaders(tab)
    } finally {
      await tab.close()
      if (id) await endSession(id)
    }
  })

  it('stops a running turn with the abort button', async () => {
    const tab = await openTab(h.browser, h.stack.url)
    let id: string | undefined
    try {
      id = await startFromPage(tab)
      const reply = words(200, 'long')
      await say(tab.page, scripted({ reply, chunks: 200, delayMs: 100 }, 'abort-test'))
      await tab.page.locator('#session-status[data-v=busy]').waitFor()
      await tab.page.waitForFunction(() => (document.querySelector('#log .msg.assistant.streaming')?.textContent ?? '').includes('long3 '))
      await tab.page.click('#abort')
      await tab.page.locator('#session-status[data-v=idle]').waitFor()
      const text = (await replyText(tab.page, 'abort-test'))?.text ?? ''
      expect(reply.startsWith(text)).toBe(true)
      expect(text.length).toBeLessThan(reply.length)
      expect(await tab.page.isDisabled('#abort')).toBe(true)
      expectKeyOnlyInHeaders(tab)
    } finally {
      await tab.close()
      if (id) await endSession(id)
    }
  })

  it('keeps the API key out of localStorage and cookies, in this tab\'s sessionStorage only', async () => {
    const tab = await openTab(h.browser, h.stack.url)
    let id: string | undefined
    try {
      id = await startFromPage(tab)
      await say(tab.page, scripted({ reply: 'stored nowhere else' }, 'storage-test'))
      await tab.page.locator('#log .msg.assistant[data-completed=true]').first().waitFor()
      const stores = await tab.page.evaluate(() => {
        const dump = (s: any) => Array.from({ length: s.length }, (_, i) => `${s.key(i)}=${s.getItem(s.key(i))}`).join('\n')
        return { local: dump(window.localStorage), session: dump(window.sessionStorage), cookie: document.cookie as string }
      })
      // Where the page does keep it: proves the reads above see what the page stores.
      expect(stores.session).toContain(BROWSER_KEY)
      expect(stores.local).not.toContain(BROWSER_KEY)
      expect(stores.cookie).not.toContain(BROWSER_KEY)
      const cookies = await tab.context.cookies()
      expect(JSON.stringify(cookies)).not.toContain(BROWSER_KEY)
      expectKeyOnlyInHeaders(tab)
    } finally {
      await tab.close()
      if (id) await endSession(id)
    }
  })
})

/** A 1×1 PNG, as a screenshot pasted into the message box would be. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='

/** Pastes the key, then opens session `id` from the list of the tenant's sessions and waits until it shows it idle. */
async function openFromList(tab: Tab, id: string) {
  const { page } = tab
  if (await page.isHidden('#forget-key')) {
    await page.fill('#api-key', BROWSER_KEY)
    await page.click('#save-key')
  }
  await page.locator(`#sessions li[data-session-id="${id}"] .open-session`).click()
  expect(await page.textContent('#session-id')).toBe(id)
  await page.locator('#session-status[data-v=idle]').waitFor({ timeout: 120_000 })
  await page.locator(`#sessions li.current[data-session-id="${id}"]`).waitFor()
}

/** Waits until a completed message of the session's own agent (not of a sub-agent) says `text`. */
const replyShown = (page: Page, text: string) =>
  page.waitForFunction(
    (t) => [...document.querySelectorAll('#log > .msg.assistant[data-completed=true] .text')].some((p) => p.textContent === t),
    text,
    { timeout: 90_000 },
  )

const fileOf = async (id: string, path: string) => (await api(`/v1/sessions/${id}/files?path=${path}`, { key: BROWSER_KEY })).body.content as string | undefined

describe("the playground's views of a session", () => {
  it("lists the tenant's sessions to reopen one, and shows the todo list and a sub-agent inside its task call", async () => {
    // Made through the API, so the page can only know it from the list.
    const id = await createSession({ title: 'reopen me', permissions: { '*': 'allow' } }, BROWSER_KEY)
    const tab = await openTab(h.browser, h.stack.url)
    try {
      await openFromList(tab, id)
      expect(await tab.page.textContent(`#sessions li[data-session-id="${id}"] .open-session`)).toBe('reopen me')

      const todos = [
        { content: 'look around', status: 'in_progress', priority: 'high' },
        { content: 'report', status: 'pending', priority: 'low' },
      ]
      const prompt = 'please look around the workspace'
      await say(tab.page, scripted({
        steps: [
          { tool: { name: 'todowrite', args: { todos } } },
          { tool: { name: 'task', args: { description: 'look around', prompt, subagent_type: 'general' } } },
          { text: 'all done' },
        ],
      }, 'subagent-test'))
      await replyShown(tab.page, 'all done')
      await tab.page.locator('#session-status[data-v=idle]').waitFor()

      const shown = async () => {
        const page = tab.page
        const todoList = await page.$$eval('#todos li', (lis) => lis.map((li) => [li.querySelector('.todo-content').textContent, li.dataset.status, li.dataset.priority]))
        // the sub-agent's reply: inside the task call's card, tagged with it, and not among the main agent's words
        const sub = await page.evaluate(() => {
          const box = document.querySelector('#log .subagent')
          const card = box?.closest('.tool')
          return {
            agent: box?.dataset.agent,
            inCard: card?.dataset.tool,
            sameCall: card?.dataset.callId === box?.dataset.parentCall,
            text: [...(box?.querySelectorAll('.msg.assistant[data-completed=true] .text') ?? [])].map((t) => t.textContent).join(''),
            main: [...document.querySelectorAll('#log > .msg.assistant > .text')].map((t) => t.textContent).join('|'),
          }
        })
        return { todoList, sub, todoCard: await page.isVisible('#todo-card') }
      }
      const expected = {
        todoList: todos.map((t) => [t.content, t.status, t.priority]),
        sub: { agent: 'general', inCard: 'task', sameCall: true, text: expect.stringContaining(prompt), main: expect.not.stringContaining(prompt) },
        todoCard: true,
      }
      expect(await shown()).toEqual(expected)
      expect((await api(`/v1/sessions/${id}`, { key: BROWSER_KEY })).body.todos).toEqual(todos.map((t, i) => ({ id: String(i + 1), ...t })))

      // Leave it, then reopen it from the list: the same views, rebuilt from the session's events.
      await tab.page.click('#leave')
      expect(await tab.page.textContent('#session-id')).toBe('–')
      expect(await tab.page.isVisible('#todo-card')).toBe(false)
      await openFromList(tab, id)
      await replyShown(tab.page, 'all done')
      expect(await shown()).toEqual(expected)
      expectKeyOnlyInHeaders(tab)
    } finally {
      await tab.close()
      await endSession(id)
    }
  })

  it('sends a picked file and a pasted image, shows the changes, undoes a turn, redoes it, and makes an undo final', async () => {
    const id = await createSession({ title: 'files and undo', permissions: { '*': 'allow' } }, BROWSER_KEY)
    const tab = await openTab(h.browser, h.stack.url)
    const { page } = tab
    try {
      await openFromList(tab, id)
      const note = 'a note from the picker'
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('#attach')])
      await chooser.setFiles({ name: 'notes.md', mimeType: 'text/markdown', buffer: Buffer.from(note) })
      await page.locator('#attachments li[data-filename="notes.md"]').waitFor()
      // a type the API does not take is refused in the page, with the reason
      const [refused] = await Promise.all([page.waitForEvent('filechooser'), page.click('#attach')])
      await refused.setFiles({ name: 'setup.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from('MZ') })
      await page.waitForFunction(() => (document.querySelector('#notice').textContent ?? '').includes('is not accepted'))
      expect(await page.$$eval('#attachments li', (lis) => lis.map((li) => li.dataset.filename))).toEqual(['notes.md'])
      await page.focus('#message')
      await page.evaluate((png) => {
        const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0))
        const clipboardData = new DataTransfer()
        clipboardData.items.add(new File([bytes], 'image.png', { type: 'image/png' }))
        document.querySelector('#message').dispatchEvent(new ClipboardEvent('paste', { clipboardData, bubbles: true, cancelable: true }))
      }, PNG)
      await page.waitForFunction(() => document.querySelectorAll('#attachments li').length === 2)

      const write = (content: string, reply: string, marker: string) =>
        scripted({ steps: [{ tool: { name: 'write', args: { filePath: 'notes.txt', content } } }, { text: reply }] }, marker)
      await say(page, write('one\n', 'wrote one', 'turn-one'))
      await replyShown(page, 'wrote one')
      expect(await page.$$eval('#attachments li', (lis) => lis.length)).toBe(0)
      const listed = [
        { filename: 'notes.md', mime: 'text/markdown', size: note.length },
        { filename: 'pasted-2.png', mime: 'image/png', size: Buffer.from(PNG, 'base64').byteLength },
      ]
      const conversation = (await api(`/v1/sessions/${id}/messages`, { key: BROWSER_KEY })).body as unknown as Json[]
      expect(conversation.find((m) => m.role === 'user')?.attachments).toEqual(listed)
      expect(await page.$$eval('#log .msg.user .msg-files li', (lis) => lis.map((li) => [li.dataset.filename, li.dataset.mime]))).toEqual(
        listed.map((f) => [f.filename, f.mime]),
      )

      await page.locator('#session-status[data-v=idle]').waitFor()
      await say(page, write('two\n', 'wrote two', 'turn-two'))
      await replyShown(page, 'wrote two')
      await page.locator('#session-status[data-v=idle]').waitFor()

      // The changes: notes.txt, new, holding "two".
      await page.click('#show-diff')
      const added = () => page.$$eval('#diff .diff-file[data-path="notes.txt"] .line.add', (ls) => ls.map((l) => l.textContent.trim()))
      await page.locator('#diff .diff-file[data-path="notes.txt"]').waitFor()
      expect(await added()).toContain('+two')

      // Undo the second turn: it greys out, the file is "one" again, and the open diff follows.
      const userBubbles = page.locator('#log > .msg.user')
      await userBubbles.nth(1).locator('button.undo').click()
      await page.locator('#undo-bar').waitFor()
      await page.locator('#log > .msg.user.reverted').waitFor()
      // greyed out: the second user message and every message after it, and nothing before it
      const marks = await page.evaluate(() => {
        const ms = [...document.querySelectorAll('#log > .msg')]
        const at = ms.findIndex((m) => m.dataset.role === 'user' && (m.textContent ?? '').includes('turn-two'))
        const reverted = ms.map((m) => m.classList.contains('reverted'))
        return { at, before: reverted.slice(0, at), after: reverted.slice(at) }
      })
      expect(marks.at).toBeGreaterThan(0)
      expect(marks.before.every((r: boolean) => !r)).toBe(true)
      expect(marks.after.length).toBeGreaterThan(1)
      expect(marks.after.every((r: boolean) => r)).toBe(true)
      expect(await fileOf(id, 'notes.txt')).toBe('one\n')
      await page.waitForFunction(() =>
        [...document.querySelectorAll('#diff .line.add')].some((l) => l.textContent.trim() === '+one'))

      // Redo brings it all back.
      await page.click('#redo')
      await page.locator('#undo-bar').waitFor({ state: 'hidden' })
      expect(await page.$$eval('#log .reverted', (ns) => ns.length)).toBe(0)
      expect(await fileOf(id, 'notes.txt')).toBe('two\n')

      // Undo again, then say something new: the undone turn is gone for good.
      await userBubbles.nth(1).locator('button.undo').click()
      await page.locator('#log > .msg.user.reverted').waitFor()
      await say(page, scripted({ reply: 'a new start' }, 'turn-three'))
      await page.waitForFunction(() =>
        [...document.querySelectorAll('#log > .msg.assistant[data-completed=true] .text')].some((t) => t.textContent === 'a new start'))
      expect(await page.isVisible('#undo-bar')).toBe(false)
      const visible = await page.$$eval('#log > .msg', (ms) => ms.filter((m) => !m.hidden).map((m) => m.textContent))
      expect(visible.join('|')).not.toContain('turn-two')
      expect(visible.join('|')).toContain('turn-one')
      expect((await api(`/v1/sessions/${id}/unrevert`, { method: 'POST', key: BROWSER_KEY })).status).toBe(409)
      expectKeyOnlyInHeaders(tab)
    } finally {
      await tab.close()
      await endSession(id)
    }
  })

  it('forks from a message and from the session, opening the new session with its conversation', async () => {
    const id = await createSession({ title: 'to fork', permissions: { '*': 'allow' } }, BROWSER_KEY)
    const tab = await openTab(h.browser, h.stack.url)
    const { page } = tab
    try {
      await openFromList(tab, id)
      await say(page, scripted({ reply: 'first answer' }, 'fork-one'))
      await replyShown(page, 'first answer')
      await page.locator('#session-status[data-v=idle]').waitFor()
      await say(page, scripted({ reply: 'second answer' }, 'fork-two'))
      await replyShown(page, 'second answer')
      await page.locator('#session-status[data-v=idle]').waitFor()

      // From the first message: the new session opens, with the first turn only.
      await page.locator('#log > .msg.user').first().locator('button.fork').click()
      await page.waitForFunction((original) => {
        const shown = document.querySelector('#session-id').textContent
        return shown.startsWith('ses_') && shown !== original
        // The copy and a new opencode take seconds, more on a loaded machine.
      }, id, { timeout: 150_000 }).catch(async (err: Error) => {
        throw new Error(`${err.message}; the page said: ${await page.textContent('#notice')}`)
      })
      const fork = (await page.textContent('#session-id'))!
      await page.waitForFunction(() =>
        [...document.querySelectorAll('#log > .msg.assistant[data-completed=true] .text')].some((t) => t.textContent === 'first answer'))
      const shown = await page.$$eval('#log > .msg', (ms) => ms.map((m) => m.textContent))
      expect(shown.join('|')).toContain('fork-one')
      expect(shown.join('|')).not.toContain('fork-two')
      expect(shown.join('|')).not.toContain('second answer')
      await page.locator(`#sessions li[data-session-id="${fork}"].current`).waitFor()
      expect((await api(`/v1/sessions/${fork}/messages`, { key: BROWSER_KEY })).body.map((m: Json) => m.text)).toContain('first answer')

      // The session's own fork button copies all of it; the new session takes a message of its own.
      await page.locator('#session-status[data-v=idle]').waitFor()
      await page.click('#fork')
      await page.waitForFunction((previous) => document.querySelector('#session-id').textContent !== previous, fork, { timeout: 150_000 })
      const again = (await page.textContent('#session-id'))!
      expect([id, fork]).not.toContain(again)
      await page.waitForFunction(() =>
        [...document.querySelectorAll('#log > .msg.assistant[data-completed=true] .text')].some((t) => t.textContent === 'first answer'))
      await page.locator('#session-status[data-v=idle]').waitFor()
      await say(page, scripted({ reply: 'in the fork' }, 'fork-three'))
      await replyShown(page, 'in the fork')
      expect((await api(`/v1/sessions/${id}/messages`, { key: BROWSER_KEY })).body.map((m: Json) => m.text)).not.toContain('in the fork')
      expectKeyOnlyInHeaders(tab)
      await endSession(fork)
      await endSession(again)
    } finally {
      await tab.close()
      await endSession(id)
    }
  })
})
