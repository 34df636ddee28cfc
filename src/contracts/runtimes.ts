import { z } from '@hono/zod-openapi'

/**
 * The agents a session can run in its sandbox, and what each can do. `opencode` is the default
 * and has every feature; the others speak the Agent Client Protocol (ACP) through a bridge in the
 * sandbox (docs/runtimes.md) and lack what ACP or the agent has no way to say.
 */

export const RUNTIMES = ['opencode', 'claude-code', 'codex'] as const
export const Runtime = z.enum(RUNTIMES).openapi({
  description: 'the coding agent in the sandbox: `opencode` (default), `claude-code` or `codex`; see `GET /v1/agents` for what each supports',
})
export type Runtime = z.infer<typeof Runtime>

export const DEFAULT_RUNTIME: Runtime = 'opencode'

/** Whether a session of `runtime` runs opencode itself, rather than an agent reached over ACP. */
export const runsOpencode = (runtime: Runtime | undefined): boolean => (runtime ?? DEFAULT_RUNTIME) === 'opencode'

/** Features a route or a message field needs of the agent; a runtime without one answers 400 `unsupported_for_runtime`. */
export const RUNTIME_FEATURES = [
  'revert',
  'fork',
  'questions',
  'subagents',
  'agentProfiles',
  'structuredOutput',
  'attachments',
  'diff',
  'rename',
] as const
export type RuntimeFeature = (typeof RUNTIME_FEATURES)[number]

const FEATURE_WORDS: Record<RuntimeFeature, string> = {
  revert: 'undo and redo (`/revert`, `/unrevert`)',
  fork: 'forking a session (`/fork`)',
  questions: 'the question tool (`question.asked`, `/questions/:id`)',
  subagents: 'sub-agent events (`subagent` on events)',
  agentProfiles: 'opencode agent profiles (`agent`)',
  structuredOutput: 'structured answers (`outputSchema`)',
  attachments: 'message attachments',
  diff: 'the workspace diff (`/diff`)',
  rename: 'renaming the agent’s session (`PATCH` title reaches the agent)',
}

type RuntimeInfo = {
  name: string
  /** ACP agents reach the model gateway through one API's base-URL setting */
  dialect: 'any' | 'anthropic' | 'responses'
  /** can be chosen in this build (a runtime listed but not available answers 400) */
  available: boolean
  supports: Record<RuntimeFeature, boolean>
}

const ALL = Object.fromEntries(RUNTIME_FEATURES.map((f) => [f, true])) as Record<RuntimeFeature, boolean>
/** What ACP says: attachments as links to the files in the sandbox; nothing of opencode's own. */
const ACP = { ...(Object.fromEntries(RUNTIME_FEATURES.map((f) => [f, false])) as Record<RuntimeFeature, boolean>), attachments: true }

export const RUNTIME_INFO: Record<Runtime, RuntimeInfo> = {
  opencode: { name: 'opencode', dialect: 'any', available: true, supports: ALL },
  'claude-code': { name: 'Claude Code (ACP)', dialect: 'anthropic', available: true, supports: ACP },
  codex: { name: 'Codex (ACP)', dialect: 'responses', available: true, supports: ACP },
}

export const runtimeSupports = (runtime: Runtime | undefined, feature: RuntimeFeature): boolean =>
  RUNTIME_INFO[runtime ?? DEFAULT_RUNTIME].supports[feature]

/** Why a route is refused for `runtime`: for the 400 `unsupported_for_runtime` message. */
export const unsupportedMessage = (runtime: Runtime, feature: RuntimeFeature): string =>
  `the ${runtime} runtime does not support ${FEATURE_WORDS[feature]}; see GET /v1/agents`

export const CatalogueRuntime = z
  .object({
    id: Runtime,
    name: z.string(),
    default: z.boolean(),
    available: z.boolean().openapi({ description: 'false: listed for what is coming, refused with 400 `unsupported_for_runtime` for now' }),
    modelApi: z.enum(['any', 'anthropic', 'responses']).openapi({
      description: "the model API the agent speaks: its session's model must be of a provider speaking it (`any`: every provider)",
    }),
    supports: z.object(Object.fromEntries(RUNTIME_FEATURES.map((f) => [f, z.boolean()])) as Record<RuntimeFeature, z.ZodBoolean>),
  })
  .openapi('CatalogueRuntime')
export type CatalogueRuntime = z.infer<typeof CatalogueRuntime>

/** Every runtime as `GET /v1/agents` lists it. */
export function runtimeCatalogue(): CatalogueRuntime[] {
  return RUNTIMES.map((id) => {
    const info = RUNTIME_INFO[id]
    return { id, name: info.name, default: id === DEFAULT_RUNTIME, available: info.available, modelApi: info.dialect, supports: info.supports }
  })
}
