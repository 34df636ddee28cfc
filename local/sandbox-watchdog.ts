import { reapSandboxes, rootOwner } from './sandbox-processes'

/**
 * The sandbox host's watchdog, a process of its own: it holds the read end of a pipe whose
 * write end only the host has, and when that pipe closes it kills every sandbox process the
 * host recorded. The kernel closes a process's files however it ends (SIGKILL, a crash, a
 * clean exit), at once, so this notices the host's end without polling and without trusting a
 * pid that may be reused. The host starts it in its own session and process group, so the
 * signal that ends the host's group (Ctrl-C, a hangup, `kill -- -pgid`) leaves it to do its job.
 *
 *   node --import tsx local/sandbox-watchdog.ts <root> <host pid>
 */

const [root, hostPid] = process.argv.slice(2)
process.stdin.resume()
process.stdin.on('close', () => {
  // A host that closed cleanly has killed its sandboxes and released the root; one that a new
  // host replaced already is not this watchdog's to reap for.
  if (rootOwner(root!)?.pid === Number(hostPid)) reapSandboxes(root!)
  process.exit(0)
})
