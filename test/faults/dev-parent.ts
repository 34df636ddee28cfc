import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { createInterface } from 'node:readline'

/**
 * A parent for `npm run dev` as a tool that runs it would be (no-orphans.test.ts): dev in a
 * process group of its own, its output piped here and on to a log file, its stdin a pipe from
 * here. It prints dev's group id, then one line on its own stdin ends it at once: a signal
 * name sends that signal to dev's group first, `exit` only exits.
 *
 *   node --import tsx test/faults/dev-parent.ts <log file>
 */
const dev = spawn('npm', ['run', 'dev'], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] })
const log = createWriteStream(process.argv[2]!)
dev.stdout.pipe(log, { end: false })
dev.stderr.pipe(log, { end: false })
process.stdout.write(`${dev.pid}\n`)
createInterface({ input: process.stdin }).once('line', (line) => {
  if (line !== 'exit') process.kill(-dev.pid!, line as NodeJS.Signals)
  process.exit(0)
})
