import { app } from './api/app'

export { RunDO } from './runs/durable-object'
export { TenantSchedules } from './schedules/durable-object'
export { WebhookGuard } from './guard/durable-object'
export { SandboxPool } from './pool/durable-object'
export { SessionDO } from './session/durable-object'
export { TenantIndex } from './tenant/durable-object'

export default app
