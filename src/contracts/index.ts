/**
 * The contract, one definition of each: every body, parameter, response and event of the API as
 * zod schemas (validation, the OpenAPI document and the code's types all come from them), and
 * the types the Durable Objects are called with, composed from them. One file per concern; the
 * lowest layer with src/lib, so it imports nothing else of ours.
 */
export * from './fields'
export * from './attachments'
export * from './catalogue'
export * from './event-codes'
export * from './events'
export * from './sessions'
export * from './runs'
export * from './output-schema'
export * from './usage'
export * from './callback-url'
export * from './snapshots'
export * from './tenant'
export * from './checkpoints'
export * from './schedules'
export * from './runtimes'
export * from './terminal'
export * from './previews'
