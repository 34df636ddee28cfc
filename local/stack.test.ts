import { readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { secretsKeyFile } from './stack'

describe("the dev stack's SECRETS_KEY", () => {
  it('is made once per state folder, readable by its owner only, and kept across restarts', async () => {
    const a = await mkdtemp(join(tmpdir(), 'osw-key-'))
    const b = await mkdtemp(join(tmpdir(), 'osw-key-'))
    try {
      const file = await secretsKeyFile(a)
      const first = readFileSync(file, 'utf8')
      expect(first).toMatch(/^SECRETS_KEY='[A-Za-z0-9+/]{43}='\n$/)
      expect(statSync(file).mode & 0o777).toBe(0o600)
      expect(readFileSync(await secretsKeyFile(a), 'utf8')).toBe(first)
      expect(readFileSync(await secretsKeyFile(b), 'utf8')).not.toBe(first)
    } finally {
      await rm(a, { recursive: true, force: true })
      await rm(b, { recursive: true, force: true })
    }
  })
})
