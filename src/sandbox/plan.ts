import { buildOpencodeConfig, parseDeploymentConfig, QUIET_BOOT_ENV } from '../opencode/config'
import { sandboxConfigPart } from '../opencode/sandbox-config'
import { skillFiles } from '../opencode/skills'
import { deploymentRoutes, sandboxProviders } from '../gateway/routes'
import { runsOpencode, type SessionSpec } from '../contracts'
import type { Settings } from '../config/settings'
import type { ProvisionPlan } from './provision'
import { runtimeEnv, runtimeFiles, runtimeModel, SKILLS_DIRS } from './runtime-env'

/** How a sandbox reaches the model gateway: its base URL and the sandbox's own token. */
export type GatewayAccess = { url: string; token: string }

/**
 * The model providers a sandbox is configured with: every one the deployment can route, and
 * those the session brought its own keys for. All of them point at the gateway.
 */
export function sandboxModelProviders(settings: Settings, ownKeyProviders: string[], gateway: GatewayAccess) {
  // Only the allow-listed part of OPENCODE_CONFIG goes on (see sandboxConfigPart).
  const deployment = sandboxConfigPart(parseDeploymentConfig(settings.opencodeConfig)).config
  const routable = [...new Set([...deploymentRoutes(settings).keys(), ...ownKeyProviders])]
  return { deployment, providers: sandboxProviders(deployment, routable, gateway.url, gateway.token) }
}

/**
 * What a sandbox for a session is made of: environment (secrets only here, never on a command
 * line), opencode's configuration, and the repository, files and setup to prepare. No model
 * provider key is among them: opencode reaches every provider through the Worker's gateway,
 * with a token that is good for this one session only.
 */
export function sandboxPlan(
  settings: Settings,
  spec: SessionSpec,
  secrets: Record<string, string> | undefined,
  password: string,
  metadata: Record<string, string>,
  gateway: GatewayAccess,
  ownKeyProviders: string[] = [],
): ProvisionPlan {
  const unattended = spec.runId !== undefined
  const { deployment, providers } = sandboxModelProviders(settings, ownKeyProviders, gateway)
  const config = buildOpencodeConfig(deployment, settings.defaultModel, { ...spec, unattended, approvals: spec.approvals === true }, providers)
  const runtime = spec.runtime ?? 'opencode'
  const target = runtime === 'opencode' ? undefined : runtimeModel(runtime, deploymentRoutes(settings), spec.model, settings.defaultModel)
  return {
    envs: {
      ...QUIET_BOOT_ENV,
      ...spec.env,
      ...secrets,
      ...(target && runtimeEnv(runtime, target, gateway)),
      OPENCODE_SERVER_PASSWORD: password,
      OPENCODE_CONFIG_CONTENT: JSON.stringify(config),
      // An interactive session has a client to answer the agent's questions; a run has nobody.
      // opencode offers its question tool to the clients it knows (`cli`, its default, among
      // them), so a run's opencode names itself as none of them.
      ...(unattended ? { OPENCODE_CLIENT: 'sandbox-run' } : { OPENCODE_ENABLE_QUESTION_TOOL: '1' }),
    },
    metadata,
    ...(runtime !== 'opencode' && { runtime }),
    repo: spec.repo,
    setup: spec.setup,
    workspaceFiles: spec.files,
    homeFiles: [...skillFiles(spec.skills ?? [], SKILLS_DIRS[runtime]), ...(target ? runtimeFiles(runtime, target, gateway, spec.instructions) : [])],
  }
}

/**
 * A warm sandbox is started before anyone asks for it, so it can only serve sessions that need
 * nothing of their own in it: no repository, files, setup, environment, skills, MCP servers, model
 * keys, or opencode configuration beyond the deployment's. Instructions, agent and per-message
 * models travel with each prompt, so they do not matter here.
 */
export function canUseWarmSandbox(
  spec: SessionSpec,
  secrets: Record<string, string> | undefined,
  defaultModel: string | undefined,
  modelKeys?: Record<string, string>,
): boolean {
  return !spec.repo && !spec.setup && canUseRepoWarmSandbox(spec, secrets, defaultModel, modelKeys)
}

/**
 * A repository pool's sandbox (WARM_POOLS) holds a repository and its setup's work, made before
 * anyone asked: a session may take it when the pool's repository, ref and setup are exactly its
 * own (repoPoolFor) and it needs nothing else of its own in it, as for a bare warm one. A
 * private repository's token is no obstacle: it is used for the session's own fetch only.
 */
export function canUseRepoWarmSandbox(
  spec: SessionSpec,
  secrets: Record<string, string> | undefined,
  defaultModel: string | undefined,
  modelKeys?: Record<string, string>,
): boolean {
  const empty = (v: unknown) => v === undefined || (typeof v === 'object' && v !== null && Object.keys(v).length === 0)
  return (
    empty(spec.files) &&
    empty(spec.skills) &&
    empty(spec.mcp) &&
    empty(spec.env) &&
    empty(secrets) &&
    empty(modelKeys) &&
    empty(spec.permissions) &&
    spec.runId === undefined &&
    runsOpencode(spec.runtime) &&
    (spec.model === undefined || spec.model === defaultModel)
  )
}

/**
 * What a sandbox's configuration is made by, besides the settings: a warm sandbox made by code
 * that built it otherwise (gateway tokens without a MAC, all of OPENCODE_CONFIG) must not be
 * handed out after a deploy.
 */
const SANDBOX_CONFIG_VERSION = 'signed-gateway-tokens, allow-listed OPENCODE_CONFIG'

/** Sandboxes made under other settings (a redeploy with another OPENCODE_CONFIG) must not be handed out. */
export function settingsFingerprint(settings: Settings): string {
  return JSON.stringify([
    SANDBOX_CONFIG_VERSION,
    settings.provider,
    settings.opencodeConfig ?? '',
    settings.defaultModel ?? '',
    Object.keys(settings.providerKeys).sort(),
    settings.publicUrl ?? '',
  ])
}
