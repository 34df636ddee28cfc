import { readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { dotenvLine, secretsKeyFile, settingsFromEnvironment } from './stack'

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

describe('settings from the environment', () => {
  it("take a GitHub App's PEM key with its newlines escaped, so that it fits a dotenv line", () => {
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nAAAA\nBBBB\n-----END RSA PRIVATE KEY-----\n'
    const settings = settingsFromEnvironment({ GITHUB_APP_PRIVATE_KEY: pem, GITHUB_APP_ID: '7', UNRELATED: 'x' })
    expect(settings).toEqual({ GITHUB_APP_PRIVATE_KEY: pem.replace(/\n/g, '\\n'), GITHUB_APP_ID: '7' })
    expect(() => dotenvLine('GITHUB_APP_PRIVATE_KEY', settings.GITHUB_APP_PRIVATE_KEY!)).not.toThrow()
  })
})
