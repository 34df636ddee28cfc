import type { Sandbox } from 'e2b'

/**
 * Starts a long-lived command (no command timeout) and lets go of it at once. A background
 * command's handle holds its event stream open for as long as the process runs, and each such
 * stream is one of the few outbound connections a Worker invocation may keep open (six); the
 * warm pool alone would hold one per sandbox. Disconnecting ends only the stream: the process
 * keeps running, as envd's processes do when their client leaves.
 */
export async function runDetached(sbx: Sandbox, command: string, opts: { cwd?: string } = {}): Promise<void> {
  const handle = await sbx.commands.run(command, { ...opts, background: true, timeoutMs: 0 })
  await handle.disconnect()
}
