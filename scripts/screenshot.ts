/**
 * Takes docs/playground.png: the playground mid-conversation, against a local stack of its own
 * (temp folders, the scripted model). `npx tsx scripts/screenshot.ts [out.png]`.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { PROJECT_ROOT, startStack } from '../local/stack'
import { launchBrowser } from '../test/browser/launch'

// Functions given to page.evaluate run in the page; the project compiles without the DOM lib.
declare const document: any

const out = process.argv[2] ?? join(PROJECT_ROOT, 'docs', 'playground.png')
const KEY = 'screenshot-key'
const dir = mkdtempSync(join(tmpdir(), 'osw-screenshot-'))
const logs: string[] = []

const script = (s: object, text: string) => `${text} <<script ${JSON.stringify(s)}>>`

const stack = await startStack({
  settings: { API_KEYS: KEY },
  stateDir: join(dir, 'state'),
  sandboxRoot: join(dir, 'sandboxes'),
  devVars: false,
  onLog: (line) => logs.push(line),
})
const browser = await launchBrowser()
try {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 })
  await page.goto(stack.url)
  await page.fill('#api-key', KEY)
  await page.click('#save-key')
  await page.click('#start')
  await page.locator('#session-status[data-v=idle]').waitFor({ timeout: 120_000 })

  const say = async (text: string) => {
    await page.fill('#message', text)
    await page.click('#send')
  }
  const completedReplies = (n: number) =>
    page.waitForFunction((k) => document.querySelectorAll('#log .msg.assistant[data-completed=true] .text').length >= k, n, { timeout: 60_000 })

  await say(script({ reply: 'Hello! I run inside a sandbox of my own. I can read and change files, run commands (after you allow them) and ask you questions.' }, 'Hi! What can you do?'))
  await completedReplies(1)

  // a command, allowed with the button
  await say(
    script(
      { steps: [{ tool: { name: 'bash', args: { command: 'echo "# Notes" > NOTES.md && ls', description: 'Create NOTES.md' } } }, { text: 'Created NOTES.md; the workspace now holds:\n{{tool_result}}' }] },
      'Create a NOTES.md file',
    ),
  )
  await page.locator('#log .ask.permission button[data-reply=once]').click()
  await completedReplies(2)

  // a reply still streaming when the picture is taken
  await say(script({ reply: 'Here is a plan. First, read the README to learn how the project is laid out. Second, run the tests to see what passes today. Third, make the smallest change that fixes the bug, then run the tests again and show you the diff before anything else.', chunks: 40, delayMs: 250 }, 'How would you fix a failing test?'))
  await page.waitForFunction(() => (document.querySelector('#log .msg.assistant.streaming .text')?.textContent ?? '').includes('run the tests'), undefined, { timeout: 60_000 })
  await page.fill('#message', 'Sounds good, go ahead')
  mkdirSync(dirname(out), { recursive: true })
  await page.screenshot({ path: out })
  console.log(`saved ${out}`)
  await page.locator('#log .msg.assistant[data-completed=true]').nth(2).waitFor({ timeout: 60_000 })
} catch (err) {
  console.error(logs.join('').slice(-4000))
  throw err
} finally {
  await browser.close()
  await stack.close()
  rmSync(dir, { recursive: true, force: true })
}
