import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { END_ORIGINAL_PROCESSES, ENV_FILE, envFile, prepareSandbox, withSandboxEnv } from './e2b-env'

const bash = (script: string, env: Record<string, string> = {}) =>
  execFileSync('bash', ['-c', script], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' })

describe('the E2B env file', () => {
  it('gives back every value as it was, quotes and newlines included', () => {
    const envs = { A: "it's", B: 'two\nlines', C: '$HOME `x` "q"' }
    const out = bash(`${envFile(envs)} printf '%s|%s|%s' "$A" "$B" "$C"`)
    expect(out).toBe(`it's|two\nlines|$HOME \`x\` "q"`)
  })

  it('is read by the commands that run with it, and missing it is no error', () => {
    const home = mkdtempSync(join(tmpdir(), 'e2b-env-'))
    expect(bash(withSandboxEnv('printf "%s" "${SECRET:-none}"'), { HOME: home })).toBe('none')
    writeFileSync(join(home, ENV_FILE), envFile({ SECRET: 's3' }))
    expect(bash(withSandboxEnv('printf "%s" "$SECRET"'), { HOME: home })).toBe('s3')
    rmSync(home, { recursive: true })
  })

  it('is made owner-only with the workspace, or not at all until the environment is given', () => {
    const home = mkdtempSync(join(tmpdir(), 'e2b-env-'))
    expect(bash(prepareSandbox(false), { HOME: home })).toBe(`${home}\n${home}/workspace`)
    expect([existsSync(join(home, 'workspace')), existsSync(join(home, ENV_FILE))]).toEqual([true, false])
    expect(bash(prepareSandbox(true), { HOME: home })).toBe(`${home}\n${home}/workspace`)
    expect(statSync(join(home, ENV_FILE)).mode & 0o777).toBe(0o600)
    rmSync(home, { recursive: true })
  })

  it('ends no process outside an E2B sandbox', () => {
    // Here E2B_SANDBOX is unset: the sweep must do nothing and succeed.
    expect(bash(`${END_ORIGINAL_PROCESSES}; echo unreachable`)).toBe('')
    expect(bash(`sleep 30 & p=$!; bash -c ${JSON.stringify(END_ORIGINAL_PROCESSES)}; kill -0 $p && echo alive; kill $p`)).toBe('alive\n')
  })
})
