import { z } from '@hono/zod-openapi'

/** Files sent with a message: what a client sends, and what the API shows of them afterwards. */

export const MAX_ATTACHMENTS = 10
/** The decoded bytes of one message's files together. */
export const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

/** Images go to the model as images; the others as files (text kinds as text, see src/opencode/agent.ts). */
export const IMAGE_MIME = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const
export const ATTACHMENT_MIME = [...IMAGE_MIME, 'application/pdf', 'text/plain', 'text/markdown', 'text/csv', 'application/json'] as const
export type AttachmentMime = (typeof ATTACHMENT_MIME)[number]

/** Base64 text of `bytes` bytes, padding included. */
export const base64Length = (bytes: number) => Math.ceil(bytes / 3) * 4

export const Attachment = z
  .object({
    filename: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[^/\\\x00-\x1f\x7f]+$/, 'a file name, without slashes or control characters'),
    mime: z.enum(ATTACHMENT_MIME),
    data: z
      .string()
      .min(1)
      .max(base64Length(MAX_ATTACHMENT_BYTES))
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'standard base64')
      .openapi({ description: 'The file, base64; all files of a message at most 10 MiB decoded' }),
  })
  .strict()
  .openapi('Attachment')

/** What the conversation and `message.created` say of a file: never its bytes. */
export const AttachmentInfo = z
  .object({ filename: z.string(), mime: z.string(), size: z.number().int().openapi({ description: 'bytes' }) })
  .openapi('AttachmentInfo')

export type Attachment = z.infer<typeof Attachment>
export type AttachmentInfo = z.infer<typeof AttachmentInfo>
/**
 * A message's files as the Worker hands them to the session: their bytes went ahead into the
 * session's storage while the body streamed in, under `upload` (see src/api/message-files.ts).
 */
export type StagedFiles = { upload: string; files: { filename: string; mime: AttachmentMime; size: number }[] }
