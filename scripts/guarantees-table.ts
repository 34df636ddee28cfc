import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The table of guarantees in docs/testing.md names, for each row, the tests that check it as
 * `` `file.test.ts` › title ``; this reads those references back so a test can hold the table
 * to the suite: a renamed or deleted test breaks the build instead of leaving a row that promises
 * a check nobody runs.
 */

export type TestReference = { file: string; title: string | undefined }
export type GuaranteeRow = { guarantee: string; tests: TestReference[]; commands: string[] }

/** Where the table is, and the heading it sits under. */
export const TABLE_FILE = join('docs', 'testing.md')
const TABLE_HEADING = '## Which test checks which guarantee'

/** The rows of the table under its heading, in order. */
export function guaranteeRows(doc: string): GuaranteeRow[] {
  const start = doc.indexOf(TABLE_HEADING)
  if (start < 0) throw new Error(`${TABLE_FILE} has no "${TABLE_HEADING}" section`)
  const lines = doc.slice(start).split('\n').slice(1)
  const first = lines.findIndex((l) => l.startsWith('|'))
  const table = lines.slice(first, lines.findIndex((l, i) => i > first && !l.startsWith('|')))
  // The header and its |---| line come first.
  return table.slice(2).map((line) => {
    const cells = line.split(/(?<!\\)\|/).slice(1, -1)
    const cell = cells[1] ?? ''
    return { guarantee: cells[0]!.trim(), tests: testReferences(cell), commands: [...cell.matchAll(/`npm run ([\w:-]+)`/g)].map((m) => m[1]!) }
  })
}

/**
 * `` `a.test.ts` › some title; › another; `b.test.ts` `` → each file with each title named after
 * it (a title without a file is the previous file's), or with none.
 */
export function testReferences(cell: string): TestReference[] {
  const refs: TestReference[] = []
  let file: string | undefined
  for (const part of cell.split(';')) {
    const m = /^\s*(?:`([^`]+\.test\.ts)`)?(?:\s*›\s*([^(]+))?/.exec(part)!
    file = m[1] ?? (m[2] ? file : undefined)
    if (file) refs.push({ file, title: m[2]?.trim().replace(/\s*…$/, '') || undefined })
  }
  return refs
}

/** Where a reference's file lives: as written, or under test/ or src/ (the table leaves those out). */
export function resolveTestFile(root: string, file: string): string | undefined {
  return [file, join('test', file), join('src', file)].map((f) => join(root, f)).find(existsSync)
}

/** Every describe/it/test title in a test file's source. */
export function titlesIn(source: string): string[] {
  const titles: string[] = []
  for (const m of source.matchAll(/\b(?:describe|it|test)(?:\.each\([^)]*\))?\(\s*(['"`])((?:\\.|(?!\1).)*)\1/g)) titles.push(m[2]!.replace(/\\(.)/g, '$1'))
  return titles
}

/** What is wrong with the table: a row naming no test title (or command), a file, title or command that does not exist. */
export function tableProblems(root: string): string[] {
  const problems: string[] = []
  const scripts = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts)
  for (const row of guaranteeRows(readFileSync(join(root, TABLE_FILE), 'utf8'))) {
    const what = row.guarantee.slice(0, 60)
    // A check that is a command of its own (the import-cycle check) stands for a test title.
    if (!row.tests.some((t) => t.title) && row.commands.length === 0) problems.push(`"${what}…" names no test title`)
    for (const command of row.commands.filter((c) => !scripts.includes(c))) problems.push(`"${what}…" names npm run ${command}, which package.json lacks`)
    for (const ref of row.tests) {
      const path = resolveTestFile(root, ref.file)
      if (!path) {
        problems.push(`"${what}…" names ${ref.file}, which does not exist`)
        continue
      }
      if (ref.title && !titlesIn(readFileSync(path, 'utf8')).some((t) => t.startsWith(ref.title!))) {
        problems.push(`"${what}…" names "${ref.title}" in ${ref.file}, which has no test or group of that title`)
      }
    }
  }
  return problems
}
