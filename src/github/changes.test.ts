import { describe, expect, it } from 'vitest'
import { parseChanges } from './changes'

const sha = (c: string) => c.repeat(40)
const Z = '0'.repeat(40)

describe('parseChanges', () => {
  it('reads added, changed, deleted and executable files, with odd names', () => {
    const out =
      `${sha('a')}\n` +
      [
        `:000000 100644 ${Z} ${sha('b')} A`, 'new file.txt',
        `:100644 100644 ${sha('c')} ${sha('d')} M`, 'src/a.ts',
        `:100644 000000 ${sha('e')} ${Z} D`, 'old\nname',
        `:100644 100755 ${sha('f')} ${sha('f')} M`, 'run.sh',
      ].join('\0') +
      '\0'
    expect(parseChanges(out)).toEqual({
      head: sha('a'),
      changes: [
        { path: 'new file.txt', status: 'added', mode: '100644' },
        { path: 'src/a.ts', status: 'modified', mode: '100644' },
        { path: 'old\nname', status: 'deleted', mode: '100644' },
        { path: 'run.sh', status: 'modified', mode: '100755' },
      ],
    })
  })

  it('reads no changes as none', () => {
    expect(parseChanges(`${sha('a')}\n`)).toEqual({ head: sha('a'), changes: [] })
  })

  it('refuses symlinks, submodules, and output that is not what git writes', () => {
    expect(() => parseChanges(`${sha('a')}\n:000000 160000 ${Z} ${sha('b')} A\0sub\0`)).toThrow(/submodule/)
    expect(() => parseChanges(`${sha('a')}\n:000000 120000 ${Z} ${sha('b')} A\0link\0`)).toThrow(/symlink/)
    expect(() => parseChanges('fatal: not a git repository\n')).toThrow(/no commit/)
    expect(() => parseChanges(`${sha('a')}\nhello\0x\0`)).toThrow(/unexpected/)
  })
})
