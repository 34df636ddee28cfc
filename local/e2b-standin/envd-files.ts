import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, type Stats } from 'node:fs'
import { lstat, mkdir, readdir, readlink, rename, rm, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { basename, dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { ConnectError } from './connect'
import { rememberWrite } from './memory'
import type { Sandbox, Sandboxes } from './sandboxes'

/** envd's file API: `GET/POST /files` over plain HTTP, and the Filesystem service's unary RPCs. */

export function jsonError(res: ServerResponse, code: number, message: string) {
  res.writeHead(code, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ code, message }))
}

/** The SDK's signed URLs: `v1_` + base64(sha256("path:operation:user:token[:expiration]")), unpadded. */
function signature(path: string, operation: string, user: string, token: string, expiration: string | null) {
  const raw = [path, operation, user, token, ...(expiration === null ? [] : [expiration])].join(':')
  return `v1_${createHash('sha256').update(raw).digest('base64').replace(/=+$/, '')}`
}

/** envd lets file requests through with the access token, or with a valid signature instead. */
function authorizeFiles(sb: Sandbox, req: IncomingMessage, query: URLSearchParams, operation: 'read' | 'write'): string | undefined {
  const header = req.headers['x-access-token']
  if (header !== undefined) return header === sb.envdAccessToken ? undefined : 'access token present in header but does not match'
  const given = query.get('signature')
  if (!given) return 'missing signature query parameter'
  const expiration = query.get('signature_expiration')
  if (given !== signature(query.get('path') ?? '', operation, query.get('username') ?? '', sb.envdAccessToken, expiration)) return 'invalid signature'
  if (expiration !== null && Number(expiration) < Date.now() / 1000) return 'signature is already expired'
  return undefined
}

export async function getFile(sandboxes: Sandboxes, sb: Sandbox, req: IncomingMessage, res: ServerResponse, query: URLSearchParams) {
  const denied = authorizeFiles(sb, req, query, 'read')
  if (denied) return jsonError(res, 401, denied)
  const path = sandboxes.resolvePath(sb, query.get('path') ?? undefined)
  const info = await stat(path).catch(() => undefined)
  if (!info) return jsonError(res, 404, `path '${path}' does not exist`)
  if (info.isDirectory()) return jsonError(res, 400, `path '${path}' is a directory`)
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': info.size,
    'content-disposition': `inline; filename=${JSON.stringify(basename(path))}`,
  })
  await pipeline(createReadStream(path), res)
}

async function writeTo(path: string, data: Readable) {
  const existing = await stat(path).catch(() => undefined)
  if (existing?.isDirectory()) throw new HttpError(400, `path is a directory: ${path}`)
  await mkdir(dirname(path), { recursive: true })
  await pipeline(data, createWriteStream(path))
  return { path, name: basename(path), type: 'file' }
}

type UploadedFile = { name: string; arrayBuffer(): Promise<ArrayBuffer> }

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export async function postFiles(sandboxes: Sandboxes, sb: Sandbox, req: IncomingMessage, res: ServerResponse, query: URLSearchParams) {
  const denied = authorizeFiles(sb, req, query, 'write')
  if (denied) return jsonError(res, 401, denied)
  const body: Readable = req.headers['content-encoding'] === 'gzip' ? req.pipe(createGunzip()) : req
  const type = req.headers['content-type'] ?? ''
  const queryPath = query.get('path') ?? undefined
  try {
    const written: { path: string }[] = []
    if (type.startsWith('application/octet-stream')) {
      if (!queryPath) throw new HttpError(400, 'path query parameter is required for raw body upload')
      written.push(await writeTo(sandboxes.resolvePath(sb, queryPath), body))
    } else if (type.startsWith('multipart/')) {
      const form = await new Request('http://envd/files', {
        method: 'POST',
        headers: { 'content-type': type },
        body: Readable.toWeb(body) as ReadableStream,
        duplex: 'half',
      } as RequestInit).formData()
      // The Workers types in this project type FormData's entries as strings only.
      for (const entry of form.getAll('file') as unknown as (string | UploadedFile)[]) {
        if (typeof entry === 'string') continue
        const path = sandboxes.resolvePath(sb, queryPath ?? entry.name)
        if (written.some((w) => w.path === path)) throw new HttpError(400, `you cannot upload multiple files to the same path '${path}' in one upload request`)
        written.push(await writeTo(path, Readable.from([Buffer.from(await entry.arrayBuffer())])))
      }
    } else {
      throw new HttpError(400, `unsupported content type: ${type}, expected multipart/form-data or application/octet-stream`)
    }
    for (const w of written) rememberWrite(sb, w.path)
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(written))
  } catch (err) {
    if (err instanceof HttpError) return jsonError(res, err.status, err.message)
    throw err
  }
}

const TYPE_NAMES = { file: 'FILE_TYPE_FILE', directory: 'FILE_TYPE_DIRECTORY', symlink: 'FILE_TYPE_SYMLINK' } as const

/** `ls -l`'s mode string, as Go's FileMode.String() writes it. */
function permissions(info: Stats): string {
  const kind = info.isDirectory() ? 'd' : info.isSymbolicLink() ? 'L' : '-'
  const bits = 'rwxrwxrwx'
  return kind + [...bits].map((ch, i) => (info.mode & (1 << (8 - i)) ? ch : '-')).join('')
}

/** A filesystem.EntryInfo in protobuf's JSON mapping (int64 as a string, timestamps as RFC 3339). */
async function entryInfo(path: string) {
  const link = await lstat(path).catch(() => undefined)
  if (!link) throw new ConnectError('not_found', `no such file or directory: ${path}`)
  const target = link.isSymbolicLink() ? await readlink(path) : undefined
  const info = target === undefined ? link : ((await stat(path).catch(() => undefined)) ?? link)
  return {
    name: basename(path),
    type: target !== undefined ? TYPE_NAMES.symlink : info.isDirectory() ? TYPE_NAMES.directory : TYPE_NAMES.file,
    path,
    size: String(info.size),
    mode: info.mode & 0o777,
    permissions: permissions(info),
    owner: info.uid === 0 ? 'root' : String(info.uid),
    group: info.gid === 0 ? 'root' : String(info.gid),
    modifiedTime: info.mtime.toISOString(),
    ...(target !== undefined && { symlinkTarget: target }),
  }
}

async function listDir(path: string, depth: number): Promise<unknown[]> {
  const entries = []
  for (const name of await readdir(path)) {
    const entry = await entryInfo(join(path, name))
    entries.push(entry)
    if (depth > 1 && entry.type === TYPE_NAMES.directory) entries.push(...(await listDir(entry.path, depth - 1)))
  }
  return entries
}

type PathRequest = { path?: string }

/** The Filesystem service's unary methods; watching is not served. */
export async function filesystemRpc(sandboxes: Sandboxes, sb: Sandbox, method: string, msg: PathRequest & Record<string, unknown>) {
  const path = sandboxes.resolvePath(sb, msg.path)
  switch (method) {
    case 'Stat':
      return { entry: await entryInfo(path) }
    case 'MakeDir': {
      if (await lstat(path).catch(() => undefined)) throw new ConnectError('already_exists', `directory already exists: ${path}`)
      await mkdir(path, { recursive: true })
      return { entry: await entryInfo(path) }
    }
    case 'ListDir': {
      const info = await stat(path).catch(() => undefined)
      if (!info) throw new ConnectError('not_found', `directory not found: ${path}`)
      if (!info.isDirectory()) throw new ConnectError('invalid_argument', `path is not a directory: ${path}`)
      return { entries: await listDir(path, Math.max(1, Number(msg.depth ?? 1))) }
    }
    case 'Remove':
      await rm(path, { recursive: true, force: true })
      return {}
    case 'Move': {
      const source = sandboxes.resolvePath(sb, String(msg.source ?? ''))
      const destination = sandboxes.resolvePath(sb, String(msg.destination ?? ''))
      if (!(await lstat(source).catch(() => undefined))) throw new ConnectError('not_found', `source file not found: ${source}`)
      await mkdir(dirname(destination), { recursive: true })
      await rename(source, destination)
      return { entry: await entryInfo(destination) }
    }
    default:
      throw new ConnectError('unimplemented', `filesystem.Filesystem/${method} is not served by the stand-in`)
  }
}
