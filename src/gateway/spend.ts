/**
 * What a model call may cost before it is made, and what it is charged once it is done: the
 * pure part of the gateway's accounting. A call is granted against a reservation (its output
 * bound at the output price, plus its input at the input price), which counts against the
 * budget while the call is in flight; it is settled with the provider's own usage, or at the
 * reservation when that never arrives (the caller hung up, the answer was cut, the provider left
 * usage out), so parallel calls pass a cap by at most one reservation, and no call is free.
 */

import type { KeyStyle } from './calls'
import { costOf, type Metered } from './meter'
import type { ModelPrice } from './price-table'
import type { GatewayGrant } from './routes'

/** What a request says about its own cost: the model it names, its output bound, its size. */
export type CallShape = { model?: string; maxOutputTokens?: number; inputBytes: number }

/** Output bound of a call that names none, on a model whose limit nothing states. */
export const DEFAULT_OUTPUT_LIMIT = 32_000
/**
 * Input tokens a request of `bytes` is reserved for: a token is about four bytes of text; an
 * image or file weighs less per byte, so this errs high, never low.
 */
export const inputEstimate = (bytes: number) => Math.ceil(bytes / 4)

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const count = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined)

/** Calls that name a model but cost nothing at the provider: counting tokens, listing models. */
const FREE_PATH = /(^messages\/count_tokens$|:countTokens$|^models$)/

/** Whether a call of `method` to `path` costs anything (what needs a price and a reservation). */
export const isPaid = (method: string, path: string) => method === 'POST' && !FREE_PATH.test(path)

/** The cost-bearing fields of a request, in whichever API's names it uses. */
export function callShape(style: KeyStyle, path: string, body: unknown, bytes: number): CallShape {
  const b = isObject(body) ? body : {}
  const model = style === 'google' ? /^models\/([^:]+):/.exec(path)?.[1] : typeof b.model === 'string' ? b.model : undefined
  const generation = isObject(b.generationConfig) ? b.generationConfig : {}
  // Anthropic and OpenAI chat: max_tokens; OpenAI's newer chat name; OpenAI responses; Google.
  const maxOutputTokens = count(b.max_tokens) ?? count(b.max_completion_tokens) ?? count(b.max_output_tokens) ?? count(generation.maxOutputTokens)
  return { ...(model && { model }), ...(maxOutputTokens && { maxOutputTokens }), inputBytes: bytes }
}

export type Reservation = { cost: number; outputTokens: number }

/**
 * Longer than any model call is let run (a Worker's request ends well before): a reservation
 * this old is of a call whose report is not coming, and is settled at its reservation.
 */
export const STALE_AFTER_MS = 60 * 60_000

/** What a call is granted against: its whole output bound and its estimated input, at its model's price. */
export function reservationFor(call: CallShape, price: ModelPrice | undefined): Reservation {
  const outputTokens = Math.min(call.maxOutputTokens ?? Infinity, price?.outputLimit ?? DEFAULT_OUTPUT_LIMIT)
  const usage = { inputTokens: inputEstimate(call.inputBytes), outputTokens, cacheReadTokens: 0, cacheWriteTokens: 0 }
  return { cost: costOf(usage, price), outputTokens }
}

export type Settled = Metered & { cost: number }

/**
 * What a done call is charged. `whole` is whether its answer reached its end; a provider's error
 * answer (`billed` false) is charged what it says it used, which is nothing as providers bill.
 */
export function settle(reservation: Reservation, metered: Metered, price: ModelPrice | undefined, answer: { whole: boolean; billed: boolean }): Settled {
  const cost = costOf(metered, price)
  if (!answer.billed || (answer.whole && metered.stated)) return { ...metered, cost }
  return { ...metered, outputTokens: Math.max(metered.outputTokens, reservation.outputTokens), cost: Math.max(cost, reservation.cost) }
}

/**
 * An OpenAI-style streamed chat request with `stream_options.include_usage` set, so that the
 * stream ends with its usage (without it there is none); undefined when the body needs no change.
 */
export function withUsageRequested(style: KeyStyle, path: string, body: unknown): Json | undefined {
  if (style !== 'bearer' || path !== 'chat/completions' || !isObject(body) || body.stream !== true) return undefined
  const options = isObject(body.stream_options) ? body.stream_options : {}
  if (options.include_usage === true) return undefined
  return { ...body, stream_options: { ...options, include_usage: true } }
}

/** A paid call as the gateway's route read it, handed to the session to be granted. */
export type PaidCall = CallShape

/** What a granted call goes on with: where to, with which key, and the reservation to settle (none for a free call). */
export type CallGrant = GatewayGrant & { reservation: string | null }

/** How a call's answer ended, for its settlement: what the provider said it used, the model the request named, whether the answer reached its end, whether the provider billed it (a 2xx). */
export type CallEnd = { used: Metered; model?: string; whole: boolean; billed: boolean }
