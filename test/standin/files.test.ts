import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandboxHost, type SandboxHost } from '../../local/sandbox-host'
import { E2BSandboxProvider } from '../../src/sandbox/e2b'
import { MAX_FILE_BYTES } from '../../src/sandbox/file-content'
import { LocalSandboxProvider } from '../../src/sandbox/local'
import type { SandboxProvider } from '../../src/sandbox/provider'
import { startFixture, type StandInFixture } from '../helpers/standin'

/** Workspace files read through each provider, E2B's through the real SDK against the stand-in: both must answer alike. */

let fx: StandInFixture
let hostRoot: string
let host: SandboxHost

beforeAll(async () => {
  fx = await startFixture()
  hostRoot = await mkdtemp(join(tmpdir(), 'osw-files-'))
  host = await startSandboxHost({ root: hostRoot })
})

afterAll(async () => {
  await host?.close()
  await rm(hostRoot, { recursive: true, force: true })
  await fx?.close()
})

const providers: [string, () => SandboxProvider][] = [
  ['local', () => new LocalSandboxProvider(host.url, undefined)],
  ['e2b', () => new E2BSandboxProvider({ ...fx.conn, template: 'base', timeoutMs: 120_000 })],
]

describe.each(providers)('files through the %s provider', (_kind, makeProvider) => {
  let provider: SandboxProvider
  let sandboxId: string
  let workdir: string

  beforeAll(async () => {
    provider = makeProvider()
    ;({ sandboxId, workdir } = await provider.create({ envs: {}, metadata: {} }))
    const made = await provider.exec(
      sandboxId,
      [
        "printf 'plain text\\n' > text.txt",
        // 1 MiB of 0xff: no NUL byte, yet not UTF-8.
        `head -c 1048576 /dev/zero | tr '\\000' '\\377' > big.bin`,
        `head -c ${MAX_FILE_BYTES} /dev/zero > limit.bin`,
        `truncate -s ${MAX_FILE_BYTES + 1} huge.bin`,
      ].join(' && '),
      { cwd: workdir },
    )
    expect(made.exitCode).toBe(0)
  })

  afterAll(async () => {
    await provider.kill(sandboxId)
  })

  it('reads text as text', async () => {
    expect(await provider.readFile(sandboxId, `${workdir}/text.txt`)).toEqual({ type: 'text', content: 'plain text\n' })
  })

  it('reads a 1 MiB binary whole, as base64', async () => {
    expect(await provider.readFile(sandboxId, `${workdir}/big.bin`)).toEqual({
      type: 'binary',
      content: Buffer.alloc(1024 * 1024, 0xff).toString('base64'),
    })
  })

  it('reads a file of exactly the limit, and refuses one byte more as too large', async () => {
    const atLimit = await provider.readFile(sandboxId, `${workdir}/limit.bin`)
    expect(atLimit.type).toBe('binary')
    expect(Buffer.from(atLimit.content, 'base64').length).toBe(MAX_FILE_BYTES)
    await expect(provider.readFile(sandboxId, `${workdir}/huge.bin`)).rejects.toMatchObject({
      name: 'SandboxError',
      code: 'too_large',
      message: expect.stringContaining('over 10 MiB'),
    })
  })

  it('says a missing file is not found', async () => {
    await expect(provider.readFile(sandboxId, `${workdir}/missing.txt`)).rejects.toMatchObject({ code: 'not_found' })
  })
})
