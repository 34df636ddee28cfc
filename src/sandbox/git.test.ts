import { spawnSync } from 'node:child_process'
import { existsSync, linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { thenForget } from './git'

describe('thenForget', () => {
  it('overwrites the credentials file before removing it, whatever the command did, and keeps its exit status', () => {
    const dir = mkdtempSync(join(tmpdir(), 'osw-forget-'))
    try {
      for (const [command, status] of [['true', 0], ['(exit 3)', 3]] as const) {
        const file = join(dir, `.clone-credentials ${status}`)
        writeFileSync(file, 'https://x-access-token:ghp_secret@github.com\n')
        // A second name for the same blocks shows what the removal left in them.
        linkSync(file, `${file}.blocks`)
        const r = spawnSync('bash', ['-c', thenForget(command, file)], { encoding: 'utf8' })
        expect(r.status).toBe(status)
        expect(existsSync(file)).toBe(false)
        expect(readFileSync(`${file}.blocks`, 'latin1')).not.toContain('ghp_secret')
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('is the command itself without credentials', () => {
    expect(thenForget('git fetch')).toBe('git fetch')
  })
})
