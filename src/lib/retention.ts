import { migrate, type Migration } from './migrations'

/**
 * What ended sessions and runs share: each is kept ENDED_RETENTION_SECONDS after it ended (a
 * run, after its delivery is settled too), then its storage is deleted. The object that remains
 * is one never used: its schema made anew, nothing in it, no alarm, so its id answers 404.
 */

/** When an object that ended at `endedAt` (ms) is forgotten. */
export const forgetAt = (endedAt: number, retentionMs: number) => endedAt + retentionMs

/** Deletes all of an object's storage, its alarm included, and makes its schema again. */
export async function forgetStorage(storage: DurableObjectStorage, migrations: readonly Migration[]) {
  await storage.deleteAlarm()
  await storage.deleteAll()
  migrate(storage.sql, migrations)
}
