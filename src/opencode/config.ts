type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Merges `over` into `base`: objects key by key, anything else replaced. */
export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base }
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue
    out[key] = isObject(value) && isObject(out[key]) ? deepMerge(out[key] as Json, value) : value
  }
  return out
}

export class ConfigError extends Error {}

/** `approvals`: an unattended run whose asks a person answers where it started, so they stay asks. */
export type SessionAgentOptions = { model?: string; permissions?: Json; mcp?: Json; unattended?: boolean; approvals?: boolean }

/** The deployment's OPENCODE_CONFIG, parsed; a bad value fails the sessions that need it, clearly. */
export function parseDeploymentConfig(deploymentJson: string | undefined): Json {
  if (!deploymentJson) return {}
  let deployment: unknown
  try {
    deployment = JSON.parse(deploymentJson)
  } catch {
    throw new ConfigError('OPENCODE_CONFIG is not valid JSON')
  }
  if (!isObject(deployment)) throw new ConfigError('OPENCODE_CONFIG must be a JSON object')
  return deployment
}

/** The folder of the home where messages' files are put for the agent (src/session/turns/message-files.ts). */
export const ATTACHMENTS_FOLDER = 'attachments'

/**
 * Someone watches an interactive session, so the agent asks before it edits or runs anything. It
 * may read the files sent to it, out of the workspace, without asking (opencode asks before any
 * other folder outside it); `~` is the sandbox's home as opencode reads the pattern.
 */
export const INTERACTIVE_PERMISSIONS: Json = { edit: 'ask', bash: 'ask', external_directory: { [`~/${ATTACHMENTS_FOLDER}/*`]: 'allow' } }

/**
 * Nobody watches a background run: edits and commands are allowed, what opencode asks about by
 * default (leaving the workspace, loops) is denied, and every `ask` left becomes `deny`.
 */
export const UNATTENDED_PERMISSIONS: Json = {
  edit: 'allow',
  bash: 'allow',
  webfetch: 'allow',
  external_directory: 'deny',
  doom_loop: 'deny',
  question: 'deny',
}

export function denyAsks(rules: Json): Json {
  return Object.fromEntries(
    Object.entries(rules).map(([k, v]) => [k, v === 'ask' ? 'deny' : isObject(v) ? denyAsks(v) : v]),
  )
}

/**
 * What every sandbox's opencode is told to skip at boot and after, all network work a sandbox has
 * no use for: its model list is the one built into opencode (and OPENCODE_CONFIG's), never fetched;
 * it never updates or shares itself; language servers it lacks are not downloaded. A session's own
 * environment may set them otherwise.
 */
export const QUIET_BOOT_ENV: Record<string, string> = {
  OPENCODE_DISABLE_MODELS_FETCH: '1',
  OPENCODE_DISABLE_AUTOUPDATE: '1',
  OPENCODE_DISABLE_SHARE: '1',
  OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
}

/**
 * The opencode configuration one sandbox runs with: the permission defaults (interactive or
 * unattended), the part of the deployment's OPENCODE_CONFIG sandboxes may see (sandboxConfigPart),
 * the default model, then what the session asked for, with `providers` (every model provider pointed at the gateway) in place of the deployment's
 * own provider section, whose keys stay in the Worker. Sandboxes never update or share themselves.
 */
export function buildOpencodeConfig(
  deployment: Json,
  defaultModel: string | undefined,
  session: SessionAgentOptions,
  providers: Json,
): Json {
  const base = { permission: session.unattended ? UNATTENDED_PERMISSIONS : INTERACTIVE_PERMISSIONS }
  const config = deepMerge(deepMerge(base, { ...deployment, provider: undefined }), {
    provider: providers,
    autoupdate: false,
    share: 'disabled',
    model: session.model ?? defaultModel,
    permission: session.permissions,
    mcp: session.mcp,
  })
  if (session.unattended && !session.approvals) config.permission = denyAsks(config.permission as Json)
  return config
}
