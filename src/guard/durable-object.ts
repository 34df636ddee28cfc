import { DurableObject } from 'cloudflare:workers'
import type { GuardRpc } from '../durable-objects'
import type { Bindings } from '../env'
import { migratedSql } from '../lib/migrations'
import { GUARD_MIGRATIONS } from './schema'

/**
 * What webhook routes must remember between requests: signatures already used (replays), and
 * runs started per key within a window (rate limits). One object per named scope, see
 * `guardStub` (src/durable-objects.ts); rows outlive their window only until the next call prunes them.
 */
export class WebhookGuard extends DurableObject<Bindings> implements GuardRpc {
  private readonly sql: SqlStorage

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    this.sql = migratedSql(ctx.storage, GUARD_MIGRATIONS)
  }

  /** True the first time `key` is offered within `ttlMs`; false for every later offer. */
  async firstSighting(key: string, ttlMs: number): Promise<boolean> {
    const now = Date.now()
    this.sql.exec('DELETE FROM seen WHERE expires_at <= ?', now)
    if (this.sql.exec('SELECT 1 FROM seen WHERE key = ?', key).toArray().length > 0) return false
    this.sql.exec('INSERT INTO seen (key, expires_at) VALUES (?, ?)', key, now + ttlMs)
    return true
  }

  /**
   * Admits `key` when fewer than `limit` keys were admitted within `windowMs`. A key admitted
   * before stays admitted, so asking again for the same run does not use up the allowance.
   */
  async admit(key: string, limit: number, windowMs: number): Promise<boolean> {
    const now = Date.now()
    this.sql.exec('DELETE FROM admitted WHERE at <= ?', now - windowMs)
    if (this.sql.exec('SELECT 1 FROM admitted WHERE key = ?', key).toArray().length > 0) return true
    const count = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM admitted').one().n
    if (count >= limit) return false
    this.sql.exec('INSERT INTO admitted (key, at) VALUES (?, ?)', key, now)
    return true
  }
}
