import { errorMessage, log } from '../lib/log'
import { SandboxError, type SandboxProvider } from '../sandbox/provider'

/** A make: `created` is to be told the new sandbox's id the moment the provider returns it. */
export type Make = (created: (sandboxId: string) => void) => Promise<void>

/**
 * The sandboxes the warm pool is making. Each is recorded (the `making` table) the moment its
 * create returns, long before its clone and setup end, and its record goes once it is in the pool
 * or killed. A make runs in the background, never inside an alarm: an alarm may run at most 15
 * minutes, and a clone plus a setup may take 30. What this object's life did not start (it was
 * evicted or a deploy restarted it mid-make) is an orphan nobody will finish: `reap` kills it.
 */
export class PoolMakes {
  /** makes under way in this object's life, by pool */
  private readonly running = new Map<string, number>()
  /** sandboxes those makes created */
  private readonly mine = new Set<string>()

  constructor(
    private readonly sql: SqlStorage,
    private readonly provider: SandboxProvider,
  ) {}

  /** Makes under way for `pool`, or for every pool. */
  count(pool?: string): number {
    if (pool !== undefined) return this.running.get(pool) ?? 0
    return [...this.running.values()].reduce((a, b) => a + b, 0)
  }

  /** Starts `make` for `pool` without waiting for it; `done` hears how it went. */
  start(pool: string, make: Make, done: (error: unknown) => Promise<void>) {
    this.running.set(pool, this.count(pool) + 1)
    const made: string[] = []
    const created = (sandboxId: string) => {
      made.push(sandboxId)
      this.mine.add(sandboxId)
      this.sql.exec('INSERT OR REPLACE INTO making (sandbox_id, pool, created_at) VALUES (?, ?, ?)', sandboxId, pool, Date.now())
    }
    void make(created)
      .then(
        () => undefined,
        (err: unknown) => err ?? new Error('the make failed'),
      )
      .then(async (error) => {
        this.running.set(pool, this.count(pool) - 1)
        for (const sandboxId of made) {
          // In the pool now, or killed by the failed make itself, where it failed.
          this.mine.delete(sandboxId)
          this.sql.exec('DELETE FROM making WHERE sandbox_id = ?', sandboxId)
        }
        await done(error)
      })
      .catch((err: unknown) => log('warn', 'warm pool make bookkeeping failed', { err: errorMessage(err) }))
  }

  /** Kills the recorded sandboxes no make of this object's life is working on. */
  async reap(): Promise<void> {
    const rows = this.sql.exec<{ sandbox_id: string }>('SELECT sandbox_id FROM making').toArray()
    for (const { sandbox_id } of rows) {
      if (this.mine.has(sandbox_id)) continue
      log('warn', 'warm pool sandbox left half-made is killed', { sandboxId: sandbox_id })
      if (await this.kill(sandbox_id)) this.sql.exec('DELETE FROM making WHERE sandbox_id = ?', sandbox_id)
    }
  }

  /** Keeps the provider from ending the sandboxes being made while their clone and setup run. */
  async keepAlive(timeoutMs: number): Promise<void> {
    for (const sandboxId of this.mine) await this.provider.keepAlive(sandboxId, timeoutMs).catch(() => {})
  }

  private async kill(sandboxId: string): Promise<boolean> {
    return this.provider.kill(sandboxId).then(
      () => true,
      (err: unknown) => err instanceof SandboxError && err.code === 'not_found',
    )
  }
}
