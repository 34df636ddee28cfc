/**
 * Every error the API can answer with. The status map is a Record over the codes, so a new
 * code does not compile until it has a status.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 400,
  unsupported_for_runtime: 400,
  unauthorized: 401,
  budget_exceeded: 402,
  price_unknown: 402,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  structured_output_failed: 422,
  checkpoint_unreadable: 422,
  upgrade_required: 426,
  too_many_requests: 429,
  internal_error: 500,
  agent_unreachable: 502,
  sandbox_unavailable: 503,
  misconfigured: 503,
  timeout: 504,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

/** The wire shape of an error, also what Durable Object methods hand back instead of throwing. */
export type ErrorInfo = { code: ErrorCode; message: string; details?: unknown }

export class ApiError extends Error {
  readonly code: ErrorCode
  readonly details?: unknown
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message)
    this.code = code
    this.details = details
  }
  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code]
  }
  toJSON(): { error: ErrorInfo } {
    return { error: { code: this.code, message: this.message, ...(this.details !== undefined && { details: this.details }) } }
  }
}

/**
 * Durable Object RPC drops the fields of thrown errors, so methods that can fail for the
 * caller's reasons return an Outcome instead.
 */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo }

export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value })
export const fail = (code: ErrorCode, message: string, details?: unknown): Outcome<never> => ({
  ok: false,
  error: { code, message, ...(details !== undefined && { details }) },
})

/** The value of an Outcome, or its error thrown as an ApiError. Generic over the shape because RPC rewraps the types. */
export function unwrap<O extends { ok: true; value: unknown } | { ok: false; error: ErrorInfo }>(
  outcome: O,
): Extract<O, { ok: true }>['value'] {
  if (outcome.ok) return outcome.value as Extract<O, { ok: true }>['value']
  const { code, message, details } = (outcome as { error: ErrorInfo }).error
  throw new ApiError(code, message, details)
}
