import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The playground's terminal pane uses xterm.js from npm (`@xterm/xterm`, a pinned dev dependency),
 * served as static files from public/vendor/xterm/, since the Worker's assets are public/ as it
 * is, with no build step. `npx tsx scripts/vendor-xterm.ts` copies them again after a bump;
 * scripts/vendor-xterm.test.ts fails while the copies differ from the installed package.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

export const VENDORED_XTERM: [from: string, to: string][] = [
  [join(ROOT, 'node_modules', '@xterm', 'xterm', 'lib', 'xterm.mjs'), join(ROOT, 'public', 'vendor', 'xterm', 'xterm.mjs')],
  [join(ROOT, 'node_modules', '@xterm', 'xterm', 'css', 'xterm.css'), join(ROOT, 'public', 'vendor', 'xterm', 'xterm.css')],
]

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [from, to] of VENDORED_XTERM) {
    mkdirSync(dirname(to), { recursive: true })
    copyFileSync(from, to)
  }
}
