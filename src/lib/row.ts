/** A single-row table's record, with `updated_at` kept by every change. */
export type Timestamped = { updated_at: string }

/**
 * Writes `fields` of the one row of `table` and returns the row as it now is. Column names come
 * from our own types, never from input, so they can be spliced into the statement.
 */
export function updateRow<R extends Timestamped>(sql: SqlStorage, table: string, row: R, fields: Partial<R>): R {
  const next = { ...row, ...fields, updated_at: new Date().toISOString() }
  const cols = Object.keys(fields)
  sql.exec(
    `UPDATE ${table} SET ${[...cols, 'updated_at'].map((c) => `${c} = ?`).join(', ')}`,
    ...cols.map((c) => next[c as keyof R] as SqlStorageValue),
    next.updated_at,
  )
  return next
}
