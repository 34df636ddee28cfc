import { createMiddleware } from 'hono/factory'
import { SessionParams } from '../contracts'
import { sessionStub } from '../durable-objects'
import type { AppEnv } from '../env'
import { concat } from '../lib/json-tokens'
import { unwrap } from '../lib/errors'
import { randomSecret } from '../lib/ids'
import { ATTACHMENT_CHUNK_BYTES } from '../session/turns/queue'
import { validationError } from './errors'
import { readMessageBody, type FileSink } from './message-body'

/**
 * POST /sessions/{id}/messages, before its schema: a message's files go into the session's
 * storage as the body streams in, a stored piece at a time (staged under an upload id), and the
 * route reads the rest of the body as any other. A Worker thus holds a piece of each message's
 * files at a time, never a 10 MiB file as base64, decoded, copied and sent again. Whatever the
 * message does not take (a refused body, a repeated send) is dropped once the route is done.
 */

/** Upload ids lead with their time, so the session can tell an abandoned one (see MessageQueue.stage). */
const newUploadId = () => `upl_${Date.now()}_${randomSecret(8)}`

/** Decoded bytes gathered into the session's stored pieces, each sent once full (or at its file's end). */
class Staging implements FileSink {
  used = false
  private pieces: Uint8Array[] = []
  private bytes = 0
  private chunk = 0

  constructor(private readonly stage: (file: number, chunk: number, bytes: Uint8Array) => Promise<void>) {}

  async write(file: number, bytes: Uint8Array) {
    this.pieces.push(bytes)
    this.bytes += bytes.byteLength
    while (this.bytes >= ATTACHMENT_CHUNK_BYTES) {
      const all = concat(this.pieces, this.bytes)
      await this.send(file, all.subarray(0, ATTACHMENT_CHUNK_BYTES))
      this.pieces = [all.slice(ATTACHMENT_CHUNK_BYTES)]
      this.bytes = all.byteLength - ATTACHMENT_CHUNK_BYTES
    }
  }

  async end(file: number) {
    if (this.bytes > 0) await this.send(file, concat(this.pieces, this.bytes))
    this.pieces = []
    this.bytes = 0
    this.chunk = 0
  }

  private async send(file: number, bytes: Uint8Array) {
    this.used = true
    await this.stage(file, this.chunk++, bytes)
  }
}

export const streamMessageFiles = createMiddleware<AppEnv>(async (c, next) => {
  const body = c.req.raw.body
  if (!body) return next()
  // The route's own checks come after this: a session is named only once its id is one.
  const params = SessionParams.safeParse({ id: c.req.param('id') })
  if (!params.success) throw validationError(params.error, 'param')
  const stub = sessionStub(c.env, params.data.id)
  const tenant = c.get('tenant')
  const id = newUploadId()
  const staging = new Staging(async (file, chunk, bytes) => void unwrap(await stub.stageFile(tenant, id, file, chunk, bytes)))
  try {
    const { rest, sizes } = await readMessageBody(body, staging)
    const headers = new Headers(c.req.raw.headers)
    headers.delete('content-length')
    headers.delete('transfer-encoding')
    c.req.raw = new Request(c.req.raw, { headers, body: rest })
    c.set('upload', { id, sizes })
    await next()
  } finally {
    if (staging.used) c.executionCtx.waitUntil(stub.dropUpload(tenant, id))
  }
})
