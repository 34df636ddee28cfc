import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Where each file's seconds in the last recorded whole run are kept, under the project's root (`UPDATE_FILE_SECONDS=1 npm test` writes them). */
export const FILE_SECONDS = join('test', 'order', 'file-seconds.json')

/** A file with no record yet (a new one) counts as this long: about what most files that run sessions take. */
const UNKNOWN_SECONDS = 30

/** How long each file (relative to `root`) took in the last recorded run. */
export function expectedSeconds(root: string): (file: string) => number {
  const recorded = JSON.parse(readFileSync(join(root, FILE_SECONDS), 'utf8')) as Record<string, number>
  return (file) => recorded[file] ?? UNKNOWN_SECONDS
}
