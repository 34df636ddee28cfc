import { describe, expect, it } from 'vitest'
import { parseAuthor, treeEntries, DEFAULT_AUTHOR } from './commit'
import { defaultBranch, pullRequestBody, titleFrom } from './pull-request'

describe('pull request pieces', () => {
  it('names branches after the issue or the run', () => {
    expect(defaultBranch('run_abc', 7)).toBe('opencode/issue-7-run_abc')
    expect(defaultBranch('run_abc')).toBe('opencode/run-run_abc')
  })

  it('takes a title from the first line with text, cut to 72 characters', () => {
    expect(titleFrom('\n  Fix the parser  \nmore')).toBe('Fix the parser')
    expect(titleFrom('x'.repeat(100))).toHaveLength(72)
    expect(titleFrom('  \n')).toBe('Changes by opencode')
  })

  it('writes a body with the summary, the run, and the issue it closes', () => {
    expect(pullRequestBody('Did it.', '`run_1`', 7)).toBe('Did it.\n\n---\nMade by opencode run `run_1`.\n\nCloses #7')
    expect(pullRequestBody('', '`run_1`')).toBe('---\nMade by opencode run `run_1`.')
    expect(pullRequestBody('y'.repeat(60_000), 'r').length).toBeLessThan(51_000)
  })

  it('reads the commit author setting, else the default', () => {
    expect(parseAuthor('Ada Bot <ada@example.com>')).toEqual({ name: 'Ada Bot', email: 'ada@example.com' })
    expect(parseAuthor('no email')).toEqual(DEFAULT_AUTHOR)
    expect(parseAuthor(undefined)).toEqual(DEFAULT_AUTHOR)
  })

  it('makes tree entries: blobs for written files, null for deleted ones, modes kept', () => {
    const blobs = new Map([['a', 'sha-a'], ['x.sh', 'sha-x']])
    expect(
      treeEntries(
        [
          { path: 'a', status: 'added', mode: '100644' },
          { path: 'gone', status: 'deleted', mode: '100644' },
          { path: 'x.sh', status: 'modified', mode: '100755' },
        ],
        blobs,
      ),
    ).toEqual([
      { path: 'a', mode: '100644', type: 'blob', sha: 'sha-a' },
      { path: 'gone', mode: '100644', type: 'blob', sha: null },
      { path: 'x.sh', mode: '100755', type: 'blob', sha: 'sha-x' },
    ])
  })
})
