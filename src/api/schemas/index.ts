/**
 * The API's one definition of every body, parameter and response: validation, the OpenAPI
 * document and the handlers' types all come from these schemas, one file per concern.
 */
export * from './fields'
export * from './sessions'
export * from './runs'
export * from './usage'
