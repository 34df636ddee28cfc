import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page, Request } from 'playwright-core'
import { startStack, type Stack } from '../../local/stack'
import { useStack } from '../helpers'
import { launchBrowser } from './launch'

export const BROWSER_KEY = 'browser-key'

/** A local stack of its own (temp folders) and a headless Chromium, for one test file. */
export type Harness = {
  stack: Stack
  browser: Browser
  dir: string
  logFile: string
  close(): Promise<void>
}

export async function startHarness(name: string): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), `osw-browser-${name}-`))
  const logFile = join(dir, 'worker.log')
  const stack = await startStack({
    settings: { API_KEYS: BROWSER_KEY },
    stateDir: join(dir, 'state'),
    sandboxRoot: join(dir, 'sandboxes'),
    devVars: false,
    onLog: (line) => appendFileSync(logFile, line),
  })
  let browser: Browser
  try {
    browser = await launchBrowser()
  } catch (err) {
    await stack.close()
    throw err
  }
  useStack({ workerUrl: stack.url, sandboxHostUrl: stack.sandboxHostUrl, sandboxHostToken: stack.sandboxHostToken })
  return {
    stack,
    browser,
    dir,
    logFile,
    close: async () => {
      await browser.close()
      await stack.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** One browser tab with every request it makes recorded, and what the page logged or threw. */
export type Tab = {
  context: BrowserContext
  page: Page
  requests: Request[]
  problems: string[]
  close(): Promise<void>
}

export async function openTab(browser: Browser, url: string): Promise<Tab> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
  const page = await context.newPage()
  const requests: Request[] = []
  const problems: string[] = []
  page.on('request', (r) => requests.push(r))
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  await page.goto(url)
  return { context, page, requests, problems, close: () => context.close() }
}
