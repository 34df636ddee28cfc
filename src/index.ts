import { app } from './api/app'
import type { SessionRpc } from './durable-objects'
import type { SessionDO } from './session/durable-object'

export { RunDO } from './runs/durable-object'
export { WebhookGuard } from './runs/guard'
export { SandboxPool } from './sandbox/pool'
export { SessionDO } from './session/durable-object'
export { TenantIndex } from './tenant/durable-object'

/** SessionDO against its interface, as the other classes are by `implements`: a drift does not compile. */
type Answers<T extends SessionRpc> = T
export type CheckedSessionDO = Answers<SessionDO>

export default app
