import bundled from '#deployment-settings'
import type { Bindings } from '../env'

/**
 * Settings a Worker variable is too small for. A deployed Worker's variables and secrets hold
 * 5 KB each; a real OPENCODE_CONFIG (providers, prices, MCP servers, agents) or WARM_POOLS
 * outgrows that. These two may instead come from deployment-settings.json, which wrangler
 * bundles into the Worker at deploy (package.json's `imports` names the file), so they are read
 * as synchronously as variables. A variable that is set still wins, so an override needs no
 * rebuild. The file is part of the script: it holds no secrets (provider keys stay secrets).
 */
export const BUNDLED_SETTINGS = ['OPENCODE_CONFIG', 'WARM_POOLS'] as const
export type BundledSetting = (typeof BUNDLED_SETTINGS)[number]

/** What a deployed Worker's variable or secret may hold, in bytes. */
export const MAX_VARIABLE_BYTES = 5 * 1024

const FILE = 'deployment-settings.json'

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The setting as the code reads it: the variable when set, else the file's entry as JSON text (a string entry as it is). */
export function settingFrom(name: BundledSetting, env: Partial<Record<BundledSetting, string>>, file: Record<string, unknown>): string | undefined {
  if (env[name]) return env[name]
  const value = file[name]
  if (value === undefined || value === null) return undefined
  return typeof value === 'string' ? value || undefined : JSON.stringify(value)
}

/** The file's entry overridden by a variable, and entries the file may not hold, for /ready; names only, never values. */
export function fileProblems(env: Partial<Record<BundledSetting, string>>, file: unknown): string[] {
  if (!isObject(file)) return [`${FILE} is not a JSON object`]
  const known = new Set<string>(BUNDLED_SETTINGS)
  return [
    ...Object.keys(file)
      .filter((name) => !known.has(name))
      .map((name) => `${FILE} names ${name}, which it cannot set (only ${BUNDLED_SETTINGS.join(', ')}); set it as a variable or secret`),
    ...BUNDLED_SETTINGS.filter((name) => env[name] && name in file).map(
      (name) => `${name} is set both as a variable and in ${FILE}; the variable is used`,
    ),
  ]
}

/** Variables and secrets over what a deployed Worker takes, for /ready: their names and sizes, never their values. */
export function oversizeVariables(env: Record<string, unknown>): string[] {
  return Object.entries(env).flatMap(([name, value]) => {
    if (typeof value !== 'string') return []
    const bytes = new TextEncoder().encode(value).byteLength
    if (bytes <= MAX_VARIABLE_BYTES) return []
    const where = (BUNDLED_SETTINGS as readonly string[]).includes(name) ? `; put it in ${FILE} instead` : ''
    return [`${name} is ${bytes} bytes, over the 5 KB (${MAX_VARIABLE_BYTES} bytes) a deployed Worker's variable or secret may hold${where}`]
  })
}

/** The bundled file; one that is not an object sets nothing (and /ready says so). */
const deployed: Record<string, unknown> = isObject(bundled) ? bundled : {}

/** A setting a variable may be too small for, from the variable or the bundled file. */
export const bundledSetting = (env: Bindings, name: BundledSetting) => settingFrom(name, env, deployed)

/** What /ready says about the bundled file and the variables' sizes. */
export const sizeProblems = (env: Bindings) => [...fileProblems(env, bundled), ...oversizeVariables(env as unknown as Record<string, unknown>)]
