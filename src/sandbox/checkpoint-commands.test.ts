import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync, readlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { markBase } from './git'
import { checkpointDir, parseSaved, restoreCommand, rollBackCommand, saveCommand } from './checkpoint-commands'

const root = mkdtempSync(join(tmpdir(), 'osw-checkpoint-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' }

function sh(command: string, cwd: string) {
  const r = spawnSync('bash', ['-c', command], { cwd, encoding: 'utf8', env: GIT_ENV })
  if (r.status !== 0) throw new Error(`${command} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

/** A repository as a clone leaves it: a commit with text, binary, executable, a link, an ignored folder; the base marked. */
function repository(name: string): string {
  const dir = join(root, name)
  mkdirSync(dir)
  sh('git init --quiet', dir)
  writeFileSync(join(dir, 'a.txt'), 'one\ntwo\n')
  writeFileSync(join(dir, 'gone.txt'), 'to be deleted\n')
  writeFileSync(join(dir, 'bin.dat'), Buffer.from([0, 1, 2, 255, 254, 0, 7]))
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\necho hi\n')
  writeFileSync(join(dir, '.gitignore'), 'ignored/\n')
  sh('git add --all && git commit --quiet -m base', dir)
  sh(markBase(), dir)
  return dir
}

describe('a checkpoint of the workspace', () => {
  it('carries every kind of change onto a fresh copy of the commit, and leaves the real index as it was', () => {
    const work = repository('work')
    const home = join(root, 'home')
    writeFileSync(join(work, 'a.txt'), 'one\nTWO\nthree\n')
    unlinkSync(join(work, 'gone.txt'))
    writeFileSync(join(work, 'bin.dat'), Buffer.from([9, 0, 8, 255, 0]))
    chmodSync(join(work, 'run.sh'), 0o755)
    writeFileSync(join(work, 'new file.txt'), 'untracked\n')
    mkdirSync(join(work, 'ignored'))
    writeFileSync(join(work, 'ignored', 'cache'), 'not kept\n')
    symlinkSync('a.txt', join(work, 'link'))
    // A commit of the agent's own counts too: changes are measured from the base.
    writeFileSync(join(work, 'committed.txt'), 'committed by the agent\n')
    sh('git add committed.txt && git commit --quiet -m agent', work)
    const indexBefore = readFileSync(join(work, '.git', 'index'))

    const saved = parseSaved(sh(saveCommand(checkpointDir(home)), work))
    expect(saved).toMatchObject({ filesChanged: 7 })
    expect(saved!.base).toBe(sh('git rev-parse refs/sandbox/base', work).trim())
    expect(readFileSync(join(work, '.git', 'index'))).toEqual(indexBefore)
    expect(sh('git status --porcelain', work)).toContain('?? "new file.txt"')

    const fresh = join(root, 'fresh')
    sh(`git clone --quiet ${work} ${fresh} && git -C ${fresh} checkout --quiet ${saved!.base} && ${markBase(fresh)}`, root)
    const freshHome = join(root, 'fresh-home')
    mkdirSync(checkpointDir(freshHome), { recursive: true })
    writeFileSync(join(checkpointDir(freshHome), 'workspace.patch.gz'), readFileSync(join(checkpointDir(home), 'workspace.patch.gz')))
    sh(restoreCommand(checkpointDir(freshHome), saved!.base), fresh)

    expect(readFileSync(join(fresh, 'a.txt'), 'utf8')).toBe('one\nTWO\nthree\n')
    expect(existsSync(join(fresh, 'gone.txt'))).toBe(false)
    expect([...readFileSync(join(fresh, 'bin.dat'))]).toEqual([9, 0, 8, 255, 0])
    expect(statSync(join(fresh, 'run.sh')).mode & 0o111).not.toBe(0)
    expect(readFileSync(join(fresh, 'new file.txt'), 'utf8')).toBe('untracked\n')
    expect(readFileSync(join(fresh, 'committed.txt'), 'utf8')).toBe('committed by the agent\n')
    expect(readlinkSync(join(fresh, 'link'))).toBe('a.txt')
    expect(existsSync(join(fresh, 'ignored'))).toBe(false)
    // Nothing of the archive is left in the sandbox once applied.
    expect(existsSync(join(checkpointDir(freshHome), 'workspace.patch.gz'))).toBe(false)
  })

  it('is empty for an unchanged workspace, and restoring it changes nothing', () => {
    const work = repository('unchanged')
    const home = join(root, 'unchanged-home')
    expect(parseSaved(sh(saveCommand(checkpointDir(home)), work))).toMatchObject({ filesChanged: 0 })
    sh(restoreCommand(checkpointDir(home)), work)
    expect(sh('git status --porcelain', work)).toBe('')
  })

  it('brings a clone whose ref moved on back to the commit the changes were made on', () => {
    const work = repository('moved')
    const home = join(root, 'moved-home')
    const base = sh('git rev-parse HEAD', work).trim()
    writeFileSync(join(work, 'a.txt'), 'changed on the base\n')
    sh(saveCommand(checkpointDir(home)), work)
    sh('git checkout --quiet -- a.txt && echo later > later.txt && git add later.txt && git commit --quiet -m later', work)
    sh(restoreCommand(checkpointDir(home), base), work)
    expect(sh('git rev-parse HEAD refs/sandbox/base', work).trim().split('\n')).toEqual([base, base])
    expect(readFileSync(join(work, 'a.txt'), 'utf8')).toBe('changed on the base\n')
  })
})

describe('rolling a workspace back to a checkpoint', () => {
  it('leaves exactly the checkpoint: later edits, new files and commits gone, ignored files kept', () => {
    const work = repository('rollback')
    const home = join(root, 'rollback-home')
    writeFileSync(join(work, 'a.txt'), 'at the checkpoint\n')
    writeFileSync(join(work, 'kept.txt'), 'new at the checkpoint\n')
    sh(saveCommand(checkpointDir(home)), work)
    writeFileSync(join(work, 'a.txt'), 'later\n')
    writeFileSync(join(work, 'later.txt'), 'later\n')
    unlinkSync(join(work, 'kept.txt'))
    sh('git add --all && git commit --quiet -m later', work)
    mkdirSync(join(work, 'ignored'))
    writeFileSync(join(work, 'ignored', 'cache'), 'built\n')
    sh(rollBackCommand(checkpointDir(home)), work)
    expect(readFileSync(join(work, 'a.txt'), 'utf8')).toBe('at the checkpoint\n')
    expect(readFileSync(join(work, 'kept.txt'), 'utf8')).toBe('new at the checkpoint\n')
    expect(existsSync(join(work, 'later.txt'))).toBe(false)
    expect(existsSync(join(work, 'ignored', 'cache'))).toBe(true)
    expect(sh('git rev-parse HEAD refs/sandbox/base', work).trim().split('\n')[0]).toBe(sh('git rev-parse refs/sandbox/base', work).trim())
  })
})

describe('parseSaved', () => {
  it('reads what the command prints, and refuses anything else', () => {
    const base = 'a'.repeat(40)
    expect(parseSaved(`base ${base}\nfiles 3\nbytes 120\n`)).toEqual({ base, filesChanged: 3, bytes: 120 })
    expect(parseSaved(`base ${base}; rm -rf /\nfiles 3\nbytes 120\n`)).toBeUndefined()
    expect(parseSaved(`base ${base}\nfiles -1\nbytes 120\n`)).toBeUndefined()
    expect(parseSaved('')).toBeUndefined()
    expect(() => restoreCommand('/d', 'HEAD; rm -rf /')).toThrow()
  })
})
