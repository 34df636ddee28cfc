import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../local/stack'
import { guaranteeRows, tableProblems, titlesIn } from './guarantees-table'

describe("docs/testing.md's table of guarantees", () => {
  it('names, in every row, tests that exist by file and title', () => {
    expect(tableProblems(PROJECT_ROOT)).toEqual([])
  })

  it('is read row by row, each reference with the title after it', () => {
    const doc = [
      '## Which test checks which guarantee',
      '',
      '| guarantee | test |',
      '|---|---|',
      '| one \\| two | `e2e/a.test.ts` › first …; › second; `src/b.test.ts` (a remark) |',
      '| three | `c.test.ts` › a title, with a comma (why) |',
      '| four | `npm run check:cycles` (part of `npm test`) |',
      '',
      'after',
    ].join('\n')
    expect(guaranteeRows(doc)).toEqual([
      { guarantee: 'one \\| two', tests: [{ file: 'e2e/a.test.ts', title: 'first' }, { file: 'e2e/a.test.ts', title: 'second' }, { file: 'src/b.test.ts', title: undefined }], commands: [] },
      { guarantee: 'three', tests: [{ file: 'c.test.ts', title: 'a title, with a comma' }], commands: [] },
      { guarantee: 'four', tests: [], commands: ['check:cycles'] },
    ])
  })

  it('finds the titles of groups and tests, whatever their quotes', () => {
    const source = `describe('a group', () => { it("a test's name", async () => {}); test(\`third\`, () => {}); it('it\\'s escaped', () => {}) })`
    expect(titlesIn(source)).toEqual(['a group', "a test's name", 'third', "it's escaped"])
  })
})
