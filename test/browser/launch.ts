import { existsSync } from 'node:fs'
import packaged from '@sparticuz/chromium'
import { chromium, type Browser } from 'playwright-core'

/** What the tests need of any Chromium: headless, and no calls home that would slow or flake a run. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Where a system Chromium or Chrome usually is. */
const SYSTEM_BROWSERS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
]

/**
 * Flags of @sparticuz/chromium's list (made for one page per AWS Lambda) that the tests cannot
 * have: with the first two the same-origin policy is off, and a test could pass on what a
 * user's browser refuses; with --single-process the browser dies when a test closes its tab.
 */
const UNFIT = new Set(['--disable-web-security', '--allow-running-insecure-content', '--single-process'])

/**
 * CHROMIUM_PATH, else a system Chromium or Chrome, else the Chromium inside the
 * @sparticuz/chromium dev dependency (unpacked to /tmp on first use), so that a fresh machine
 * runs the browser tests with nothing installed but npm's packages.
 */
export async function launchBrowser(): Promise<Browser> {
  const system = systemBrowser()
  if (system) return chromium.launch({ executablePath: system, args: CHROMIUM_ARGS })
  const args = packaged.args.filter((a) => !UNFIT.has(a))
  return chromium.launch({ executablePath: await packaged.executablePath(), args: [...args, ...CHROMIUM_ARGS] })
}

function systemBrowser(): string | undefined {
  return process.env.CHROMIUM_PATH || SYSTEM_BROWSERS.find((p) => existsSync(p))
}

/**
 * Unpacks the packaged Chromium once, before the browser files start: two files unpacking it at
 * once have one start the binary while the other still writes it (spawn ETXTBSY).
 */
export default async function unpackOnce(): Promise<void> {
  if (!systemBrowser()) await packaged.executablePath()
}
