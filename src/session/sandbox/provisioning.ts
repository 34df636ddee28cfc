import { errorMessage, log } from '../../lib/log'
import { SandboxError, type SandboxProvider } from '../../sandbox/provider'
import type { SessionStore } from '../store/session-store'

/**
 * Sandboxes made for the session that are not its sandbox yet: each is recorded (the row's
 * `provisioning`) the moment the provider's create returns, before its clone and setup, which may
 * take half an hour. A deploy gives work under way about 30 s and cuts storage at once; without
 * the record, a restart mid-setup would leave a sandbox billing until its provider timeout while
 * the session made another. The record goes when the sandbox becomes the session's (its own
 * record holds it then) or is killed.
 */
export class Provisioning {
  constructor(
    private readonly store: SessionStore,
    private readonly provider: SandboxProvider,
  ) {}

  /** The provider just made `sandboxId` for the session. */
  made(sandboxId: string) {
    if (!this.store.exists) return
    const ids = this.store.provisioning()
    if (!ids.includes(sandboxId)) this.store.saveProvisioning([...ids, sandboxId])
  }

  /**
   * A provisioning ended: its sandboxes are the session's now, or were killed by the work that
   * made them as it failed or was abandoned (each kill where it failed, so a failed sandbox is
   * killed once, at once). Their records go.
   */
  ended(sandboxIds: Iterable<string>) {
    if (!this.store.exists) return
    const done = new Set(sandboxIds)
    this.store.saveProvisioning(this.store.provisioning().filter((id) => !done.has(id)))
  }

  /**
   * No provisioning runs, yet sandboxes are recorded as being made: the object restarted mid-way
   * (a deploy), and nothing will finish what it began. Each is killed but the session's own, and
   * its record goes once it is confirmed gone; a kill that failed is tried again next time.
   */
  async reap(): Promise<void> {
    if (!this.store.exists) return
    const own = this.store.sandbox()?.sandboxId
    for (const sandboxId of this.store.provisioning()) {
      if (sandboxId !== own && !(await this.kill(sandboxId))) continue
      this.store.saveProvisioning(this.store.provisioning().filter((id) => id !== sandboxId))
    }
  }

  /**
   * While provisioning runs: the sandboxes being made stay at the provider for `timeoutMs` more.
   * They were created with a session's timeout, shorter than a clone and a setup may take.
   */
  async keepAlive(timeoutMs: number): Promise<void> {
    if (!this.store.exists) return
    for (const sandboxId of this.store.provisioning()) await this.provider.keepAlive(sandboxId, timeoutMs).catch(() => {})
  }

  private async kill(sandboxId: string): Promise<boolean> {
    try {
      await this.provider.kill(sandboxId)
      return true
    } catch (err) {
      if (err instanceof SandboxError && err.code === 'not_found') return true
      log('warn', 'half-made sandbox kill failed', { sessionId: this.store.maybe?.id, err: errorMessage(err) })
      return false
    }
  }
}
