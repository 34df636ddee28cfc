import { execFile } from 'node:child_process'
import { lstat } from 'node:fs/promises'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** `cp -a` keeps modes, times and links as they are (a link in the workspace is copied, not followed). */
export async function copyTree(from: string, to: string) {
  await run('cp', ['-a', '--reflink=auto', '--', from, to])
}

/**
 * opencode's database names its project and sessions by absolute path, and opencode runs a
 * session where its record says: a copy that kept the original's paths would work in the
 * original's workspace. Every text in it naming the old sandbox's folder names the new one.
 * (On E2B a fork has the very same paths, so there is nothing to move.)
 */
export async function movePaths(db: string, from: string, to: string) {
  if (!(await lstat(db).catch(() => undefined))) return
  const { stdout } = await run('sqlite3', [
    db,
    "SELECT m.name || '|' || p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND upper(p.type) IN ('TEXT', '')",
  ])
  const quote = (v: string) => `'${v.replaceAll("'", "''")}'`
  const updates = stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [table, column] = line.split('|') as [string, string]
      const c = `"${column.replaceAll('"', '""')}"`
      return `UPDATE "${table.replaceAll('"', '""')}" SET ${c} = replace(${c}, ${quote(`${from}/`)}, ${quote(`${to}/`)}) WHERE instr(${c}, ${quote(`${from}/`)}) > 0;`
    })
  await run('sqlite3', [db, `BEGIN; ${updates.join(' ')} COMMIT;`])
}

/** Bytes under a folder, as `du` counts them. */
export async function sizeOf(dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sb', dir])
  return Number(stdout.split('\t')[0]) || 0
}
