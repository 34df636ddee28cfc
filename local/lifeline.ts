import { fstatSync } from 'node:fs'

/**
 * How a process of the local stack notices that whoever started it has gone, so that it ends
 * too instead of running on, unseen, with its sandboxes.
 */

/**
 * Calls `then` when stdin closes, if stdin is a pipe (a FIFO, or the socket Node's spawn makes):
 * the kernel closes the other end when the process holding it ends, by SIGKILL too. A terminal
 * or /dev/null says nothing of the parent, and reading a terminal from the background would stop
 * this process (SIGTTIN), so those are left alone.
 */
export function whenStdinCloses(then: () => void) {
  const stdin = fstatSync(0)
  if (!stdin.isFIFO() && !stdin.isSocket()) return
  process.stdin.on('close', then).resume()
}

/** Calls `then` when this process's parent is gone (it was re-parented), checking every `everyMs`. */
export function whenOrphaned(then: () => void, everyMs = 1_000) {
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer)
      then()
    }
  }, everyMs)
  timer.unref()
}
