import type { Browser, BrowserContext, Page, Request } from 'playwright-core'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { launchBrowser } from './launch'

export const BROWSER_KEY = 'browser-key'

/** A local stack of its own (temp folders) and a headless Chromium, for one test file. */
export type Harness = OwnStack & { browser: Browser }

export async function startHarness(name: string): Promise<Harness> {
  const own = await startOwnStack(`browser-${name}`, { API_KEYS: BROWSER_KEY })
  let browser: Browser
  try {
    browser = await launchBrowser()
  } catch (err) {
    await own.close()
    throw err
  }
  return {
    ...own,
    browser,
    close: async () => {
      await browser.close()
      await own.close()
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
