import { constants } from 'node:fs'
import { lstat, mkdir, open, realpath } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { HTTPException } from 'hono/http-exception'
import { fileContent, fileTooLarge } from '../src/sandbox/file-content'
import type { SandboxFile, SandboxFileContent } from '../src/sandbox/provider'

/**
 * A local sandbox's files API: reads and writes stay inside the sandbox's own folder (`root`,
 * real), whatever links the repository or the agent made, as they could only stay inside its VM.
 */

export const isInside = (root: string, path: string) => path.startsWith(`${root}/`)

const errnoOf = (err: unknown) => (err as NodeJS.ErrnoException).code

/** Refused because a link leads the path elsewhere; the message names no path of this machine. */
const escapes = () => new HTTPException(403, { message: 'the path leads outside the sandbox through a link' })

/**
 * Where a write to `path` really lands, with its missing folders made: every existing part of
 * the path is resolved through its links, so a link in a cloned repository, or one the agent
 * made, cannot carry the write outside `root` (the sandbox's real folder). Folders are made one
 * at a time under the resolved part, never through a link.
 */
async function writablePath(root: string, path: string): Promise<string> {
  const missing: string[] = []
  let dir = dirname(path)
  for (;;) {
    try {
      dir = await realpath(dir)
      break
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw new HTTPException(400, { message: `the path cannot be written (${errnoOf(err)})` })
      missing.unshift(basename(dir))
      dir = dirname(dir)
    }
  }
  if (!isInside(root, dir)) throw escapes()
  for (const name of missing) {
    dir = join(dir, name)
    // A name that exists after all is a dangling link, or a folder another write just made.
    await mkdir(dir).catch(async (err: unknown) => {
      if (errnoOf(err) !== 'EEXIST' || !(await lstat(dir).catch(() => undefined))?.isDirectory()) throw escapes()
    })
  }
  const file = join(dir, basename(path))
  const real = await realpath(file).catch(() => file)
  if (!isInside(root, real)) throw escapes()
  return real
}

/** Opens without following a link at the last step: one swapped in since the path was resolved fails here. */
async function openNoFollow(path: string, flags: number) {
  try {
    return await open(path, flags | constants.O_NOFOLLOW, 0o644)
  } catch (err) {
    if (errnoOf(err) === 'ELOOP') throw escapes()
    if (errnoOf(err) === 'ENOENT') throw new HTTPException(404, { message: 'no such file' })
    throw new HTTPException(400, { message: `the file cannot be opened (${errnoOf(err)})` })
  }
}

/** Reads a file (text as is, anything else base64); links are followed first, so none points a read outside. */
export async function readInside(root: string, path: string): Promise<SandboxFileContent> {
  const asked = resolve(path)
  if (!isInside(root, asked)) throw new HTTPException(400, { message: 'the path is outside the sandbox' })
  let real: string
  try {
    real = await realpath(asked)
  } catch {
    throw new HTTPException(404, { message: 'no such file' })
  }
  if (!isInside(root, real)) throw escapes()
  const handle = await openNoFollow(real, constants.O_RDONLY)
  try {
    // The open file itself is measured, so the size checked is the size of what is read.
    const tooLarge = fileTooLarge((await handle.stat()).size)
    if (tooLarge) throw new HTTPException(413, { message: tooLarge })
    return fileContent(await handle.readFile())
  } finally {
    await handle.close()
  }
}

/** Opens `path` (absolute) to be written afresh, making its folders; only inside `root`. */
async function openToWrite(root: string, asked: string) {
  const path = resolve(asked)
  if (!isInside(root, path)) throw new HTTPException(400, { message: `${asked} is outside the sandbox` })
  return openNoFollow(await writablePath(root, path), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC)
}

/** Writes text files (absolute paths), making their folders. */
export async function writeInside(root: string, files: SandboxFile[]): Promise<void> {
  for (const file of files) {
    const handle = await openToWrite(root, file.path)
    await handle.writeFile(file.content).finally(() => handle.close())
  }
}

/** Writes one file (absolute path) from a stream, as it arrives. */
export async function writeStreamInside(root: string, path: string, body: ReadableStream<Uint8Array>): Promise<void> {
  const handle = await openToWrite(root, path)
  try {
    for await (const chunk of body) await handle.write(chunk)
  } finally {
    await handle.close()
  }
}
