import { z } from '@hono/zod-openapi'

/**
 * A session's terminal (`GET /v1/sessions/:id/terminal`, a WebSocket): its query, and the frames
 * that travel on it. Binary frames are the terminal's bytes both ways; text frames are these
 * JSON messages.
 */

/** Neither side of a terminal is larger than this; a size outside it is refused. */
export const MAX_TERMINAL_SIDE = 1000
/** A frame from the client larger than this closes the terminal (1009): typing and pasting fit well within it. */
export const MAX_TERMINAL_INPUT_BYTES = 64 * 1024

const side = (name: string, fallback: number) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_TERMINAL_SIDE)
    .default(fallback)
    .openapi({ param: { name, in: 'query' }, description: `The terminal's ${name} at the start (default ${fallback})` })

export const TerminalQuery = z.object({
  cols: side('cols', 80),
  rows: side('rows', 24),
  token: z.string().optional().openapi({ param: { name: 'token', in: 'query' }, description: 'A terminal token (POST /tokens with `scope: "terminal"`), for browsers' }),
})

/** What a client may say in a text frame: input as text (what xterm.js hands over), or a new size. */
export const TerminalClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('input'), data: z.string() }).strict(),
  z.object({ type: z.literal('resize'), cols: z.number().int().min(1).max(MAX_TERMINAL_SIDE), rows: z.number().int().min(1).max(MAX_TERMINAL_SIDE) }).strict(),
])
export type TerminalClientMessage = z.infer<typeof TerminalClientMessage>

/** What the terminal says in a text frame: its shell has exited (null when the sandbox could not tell how), just before the socket closes. */
export const TerminalServerMessage = z.object({ type: z.literal('exit'), exitCode: z.number().int().nullable() })
export type TerminalServerMessage = z.infer<typeof TerminalServerMessage>

/** How a terminal's socket closes when the session takes it away. */
export const TERMINAL_CLOSE = {
  exited: { code: 1000, reason: 'the shell exited' },
  paused: { code: 4001, reason: 'the sandbox paused' },
  lost: { code: 4002, reason: 'the sandbox is gone' },
  ended: { code: 4003, reason: 'the session ended' },
  tooLarge: { code: 1009, reason: `frames are limited to ${MAX_TERMINAL_INPUT_BYTES} bytes` },
  invalid: { code: 1003, reason: 'not a terminal message' },
  failed: { code: 1011, reason: 'the terminal failed' },
} as const
export type TerminalClose = keyof typeof TERMINAL_CLOSE
