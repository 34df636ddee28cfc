// @ts-check
// The API's types for the playground's JSDoc, taken from the TypeScript client's stream
// (src/client/sse.ts: the whole client would bring the Worker's routes into the check) so that
// the type check holds the page to the contract. Types only: nothing here runs.

/** @typedef {import('../../src/client/sse').SessionEvent} SessionEvent */
/** @typedef {SessionEvent['type']} EventType */
/**
 * The data of one kind of event, `sessionId` and `at` included.
 * @template {EventType} K
 * @typedef {Extract<SessionEvent, { type: K }>['data']} EventData
 */
/** @typedef {EventData<'session.status'>['status']} SessionStatus */

export {}
