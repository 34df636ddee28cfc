import { app } from './api/app'

export { RunDO } from './runs/durable-object'
export { TenantSchedules } from './runs/schedules'
export { WebhookGuard } from './runs/guard'
export { SandboxPool } from './sandbox/pool'
export { SessionDO } from './session/durable-object'
export { TenantIndex } from './tenant/durable-object'

export default app
