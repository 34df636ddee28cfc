import { buildOpencodeConfig } from '../opencode/config'
import { skillFiles } from '../opencode/skills'
import type { SessionSpec } from '../session/contracts'
import type { Settings } from '../settings'
import type { ProvisionPlan } from './provision'

/**
 * What a sandbox for a session is made of: environment (secrets only here, never on a command
 * line), opencode's configuration, and the repository, files and setup to prepare.
 */
export function sandboxPlan(
  settings: Settings,
  spec: SessionSpec,
  secrets: Record<string, string> | undefined,
  password: string,
  metadata: Record<string, string>,
): ProvisionPlan {
  const unattended = spec.runId !== undefined
  const config = buildOpencodeConfig(settings.opencodeConfig, settings.defaultModel, { ...spec, unattended })
  return {
    envs: {
      ...spec.env,
      ...secrets,
      ...settings.providerEnv,
      OPENCODE_SERVER_PASSWORD: password,
      OPENCODE_CONFIG_CONTENT: JSON.stringify(config),
      // An interactive session has a client to answer the agent's questions; a run has nobody.
      ...(!unattended && { OPENCODE_ENABLE_QUESTION_TOOL: '1' }),
    },
    metadata,
    repo: spec.repo,
    setup: spec.setup,
    workspaceFiles: spec.files,
    homeFiles: skillFiles(spec.skills ?? []),
  }
}

/**
 * A warm sandbox is started before anyone asks for it, so it can only serve sessions that need
 * nothing of their own in it: no repository, files, setup, environment, skills, MCP servers, or
 * opencode configuration beyond the deployment's. Instructions, agent and per-message models
 * travel with each prompt, so they do not matter here.
 */
export function canUseWarmSandbox(spec: SessionSpec, secrets: Record<string, string> | undefined, defaultModel: string | undefined): boolean {
  const empty = (v: unknown) => v === undefined || (typeof v === 'object' && v !== null && Object.keys(v).length === 0)
  return (
    !spec.repo &&
    !spec.setup &&
    empty(spec.files) &&
    empty(spec.skills) &&
    empty(spec.mcp) &&
    empty(spec.env) &&
    empty(secrets) &&
    empty(spec.permissions) &&
    spec.runId === undefined &&
    (spec.model === undefined || spec.model === defaultModel)
  )
}

/** Sandboxes made under other settings (a redeploy with another OPENCODE_CONFIG) must not be handed out. */
export function settingsFingerprint(settings: Settings): string {
  return JSON.stringify([settings.provider, settings.opencodeConfig ?? '', settings.defaultModel ?? '', Object.keys(settings.providerEnv).sort()])
}
