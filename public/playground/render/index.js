// @ts-check
// One renderer per kind of event. The table's type is the contract's list of event types (via
// src/client), so the type check fails until a new kind has its renderer; the stream listens for
// exactly the kinds named here.
import { resetAsks } from './ask.js'
import { messageCompleted, messageCreated, messageDelta, resetMessages } from './message.js'
import { budgetWarning, error, fileChanged } from './notes.js'
import { permissionRequested, permissionResolved } from './permission.js'
import { questionAsked, questionResolved } from './question.js'
import { resetRevert, sessionReverted, sessionUnreverted } from './revert.js'
import { resetSandbox, sandboxStatus } from './sandbox.js'
import { resetPorts, sandboxPort } from './ports.js'
import { sessionEnded, sessionStatus, sessionUpdated, showStatus } from './session.js'
import { resetSubagents } from './subagent.js'
import { resetTodos, todoUpdated } from './todo.js'
import { resetTools, toolUpdated } from './tool.js'

/** @typedef {import('../types.js').EventType} EventType */
/** @template {EventType} K @typedef {import('../types.js').EventData<K>} EventData */

/** @type {{ [K in EventType]: (data: EventData<K>) => void }} */
const RENDERERS = {
  'session.status': sessionStatus,
  'session.updated': sessionUpdated,
  'session.ended': sessionEnded,
  'session.reverted': sessionReverted,
  'session.unreverted': sessionUnreverted,
  'sandbox.status': sandboxStatus,
  'sandbox.port': sandboxPort,
  'message.created': messageCreated,
  'message.delta': messageDelta,
  'message.completed': messageCompleted,
  'tool.updated': toolUpdated,
  'todo.updated': todoUpdated,
  'file.changed': fileChanged,
  'permission.requested': permissionRequested,
  'permission.resolved': permissionResolved,
  'question.asked': questionAsked,
  'question.resolved': questionResolved,
  error,
  'budget.warning': budgetWarning,
}

export const EVENT_TYPES = /** @type {EventType[]} */ (Object.keys(RENDERERS))

/** @param {EventType} type @param {any} data the event's data as the stream sent it */
export function render(type, data) {
  RENDERERS[type](data)
}

/** Forgets every event rendered: the view of no session, or of one about to be replayed. */
export function resetRendered() {
  resetMessages()
  resetTools()
  resetAsks()
  resetSubagents()
  resetRevert()
  resetTodos()
  resetSandbox()
  resetPorts()
  showStatus('none')
}
