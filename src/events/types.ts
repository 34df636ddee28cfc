/**
 * The public events of the API contract, as stored in a session's log and sent over SSE.
 * `sessionId` and `at` are added when an event is appended, so producers leave them out.
 */
export type SessionStatus = 'starting' | 'idle' | 'busy' | 'ended' | 'failed'
export type SandboxState = 'starting' | 'ready' | 'lost' | 'restarting' | 'paused' | 'stopped'
export type ToolState = 'pending' | 'running' | 'completed' | 'error'
export type Usage = { inputTokens: number; outputTokens: number; cost: number }

export type PublicEventMap = {
  'session.status': { status: SessionStatus; reason?: string }
  'sandbox.status': { state: SandboxState; reason?: string }
  'message.created': { messageId: string; role: 'user' | 'assistant'; parentId?: string; text?: string }
  'message.delta': { messageId: string; partId: string; kind: 'text' | 'reasoning'; text: string }
  'message.completed': {
    messageId: string
    role: 'user' | 'assistant'
    text: string
    parentId?: string
    usage?: Usage
    error?: { code: string; message: string }
  }
  'tool.updated': {
    messageId: string
    callId: string
    tool: string
    state: ToolState
    title?: string
    input?: unknown
    output?: string
  }
  'file.changed': { path: string; change?: string }
  'permission.requested': { permissionId: string; permission: string; patterns: string[]; metadata: unknown }
  /** `reason` says why it ended without a human's answer: `timeout`, `lost`, ... */
  'permission.resolved': { permissionId: string; reply: string; reason?: string }
  'question.asked': { questionId: string; questions: unknown }
  'question.resolved': { questionId: string; answers?: unknown; rejected?: boolean; reason?: string }
  error: { code: string; message: string }
  'session.ended': { reason: string }
}

export type PublicEventType = keyof PublicEventMap
export type PublicEvent = { [K in PublicEventType]: { type: K; data: PublicEventMap[K] } }[PublicEventType]

export const event = <K extends PublicEventType>(type: K, data: PublicEventMap[K]): PublicEvent =>
  ({ type, data }) as PublicEvent

/** An event as it sits in the log: `data` is the JSON text sent on the wire, sessionId and at included. */
export type LoggedEvent = { seq: number; type: PublicEventType; data: string }
