import { z } from '@hono/zod-openapi'
import { ERROR_STATUS } from '../lib/errors'

/** Field schemas shared by sessions and runs: repositories, models, permissions, environment, skills, MCP servers, keys and limits; and the error body. */

const noLeadingDash = (s: string) => !s.startsWith('-')

/**
 * Whether a repository URL carries credentials, which would end up in the session's record and
 * the clone's `.git/config`: any user info for http(s), git and file URLs (`https://token@host`
 * is a token too), a password for ssh (whose `git@` is only a user name). Read from the raw text,
 * as git and URL parsers disagree on odd input.
 */
export function urlHasCredentials(url: string): boolean {
  const [, scheme, authority] = /^([a-z]+):\/\/([^/?#]*)/.exec(url) ?? []
  if (authority === undefined) return false
  if (scheme !== 'ssh') return authority.includes('@')
  const at = authority.lastIndexOf('@')
  return at >= 0 && authority.slice(0, at).includes(':')
}

export const ModelName = z
  .string()
  .regex(/^[\w.@-]+\/[\w.:@/-]+$/, 'expected "provider/model"')
  .max(200)
  .openapi({ example: 'anthropic/claude-sonnet-4-5' })

const repoFields = {
  url: z
    .string()
    .min(1)
    .max(2000)
    .refine(noLeadingDash, 'must not start with "-"')
    .refine(
      (u) => /^(https?|git|ssh|file):\/\//.test(u) || /^[\w.-]+@[\w.-]+:/.test(u) || u.startsWith('/'),
      'expected an http(s), git, ssh or file URL, or an absolute path',
    )
    .refine((u) => !urlHasCredentials(u), "must not hold credentials (a session takes a private repository's token as `repo.token`)")
    .openapi({ example: 'https://github.com/honojs/hono' }),
  ref: z
    .string()
    .min(1)
    .max(250)
    .regex(/^[\w./-]+$/, 'expected a branch, tag or commit')
    .refine(noLeadingDash, 'must not start with "-"')
    .optional(),
}

export const Repo = z.object(repoFields).strict().openapi('Repo')
export type Repo = z.infer<typeof Repo>

/** The repository a session is created on: a Repo, and for a private one over http(s), a token. */
export const SessionRepo = z
  .object({
    ...repoFields,
    token: z
      .string()
      .min(1)
      .max(1_000)
      .regex(/^[\x21-\x7e]+$/, 'printable characters without spaces')
      .optional()
      .openapi({
        writeOnly: true,
        description:
          "For a private repository: the password of user `x-access-token`, used only to clone it (again if its sandbox is replaced) through a git credential helper, and for a run's pull request as its token for GitHub's API. On GitHub, what a tenant the deployment's GitHub credential is not granted for (GITHUB_TENANT_REPOS) brings instead. Stored sealed until the session ends; never returned, and left nowhere in the sandbox",
      }),
  })
  .strict()
  .refine((r) => r.token === undefined || /^https?:\/\//.test(r.url), { message: 'a token is for http(s) URLs', path: ['token'] })
  .openapi('SessionRepo')

const Action = z.enum(['allow', 'ask', 'deny'])

export const Permissions = z
  .record(z.string().max(100), z.union([Action, z.record(z.string().max(500), Action)]))
  .openapi('Permissions', {
    example: { edit: 'ask', bash: { 'git status': 'allow', '*': 'ask' } },
  })

/** A path inside the workspace: relative, no `..`, so nothing can be written or read outside it. */
export const WorkspacePath = z
  .string()
  .min(1)
  .max(300)
  .refine((p) => !p.startsWith('/') && !p.includes('\0') && !p.split(/[\\/]/).includes('..'), 'must be a relative path inside the workspace')

/**
 * Names that would point the sandbox's tools somewhere else (proxies, model endpoints, CA
 * bundles) or run code of the caller's choosing inside them (preloads, startup files, git hooks
 * and config): a session brings data, not a different toolchain.
 */
const TOOL_HIJACKING =
  /^(.*_PROXY|.*_BASE_URL|LD_.*|DYLD_.*|NODE_OPTIONS|NODE_EXTRA_CA_CERTS|SSL_CERT_.*|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|BASH_ENV|ENV|GIT_.*|PYTHONSTARTUP|PYTHONPATH)$/i

const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'not an environment variable name')
  .refine((n) => !/^(OPENCODE_|E2B_)/.test(n) && !['HOME', 'PATH', 'PWD', 'SHELL', 'USER'].includes(n), 'reserved name')
  .refine((n) => !TOOL_HIJACKING.test(n), 'redirects or takes over tools in the sandbox')

export const EnvMap = z.record(EnvName, z.string().max(8_192)).refine((m) => Object.keys(m).length <= 50, 'at most 50 variables')

export const Skill = z
  .object({
    name: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'lowercase words joined by single hyphens').max(64),
    description: z.string().min(1).max(1_024),
    instructions: z.string().min(1).max(100_000).openapi({ description: 'The body of SKILL.md' }),
    files: z
      .record(WorkspacePath, z.string().max(100_000))
      .refine((m) => Object.keys(m).length <= 20, 'at most 20 files')
      .optional()
      .openapi({ description: 'Supporting files, by path relative to the skill folder' }),
  })
  .strict()
  .openapi('Skill')

export const McpServer = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('remote'),
        url: z.string().url().max(2_000),
        headers: z.record(z.string().max(200), z.string().max(4_000)).optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal('local'),
        command: z.array(z.string().max(1_000)).min(1).max(50),
        environment: z.record(EnvName, z.string().max(8_192)).optional(),
      })
      .strict(),
  ])
  .openapi('McpServer')

export const ModelKeys = z
  .record(z.string().regex(/^[\w.-]{1,64}$/, 'a provider id'), z.string().min(1).max(4_096))
  .refine((m) => Object.keys(m).length <= 10, 'at most 10 providers')
  .openapi('ModelKeys', {
    description:
      'Your own model provider keys by opencode provider id (e.g. `anthropic`), used by the model gateway for this session only; never returned and never in the sandbox',
    example: { anthropic: 'sk-ant-...' },
  })

export const Limits = z
  .object({
    maxCostUsd: z.number().positive().max(100_000).optional(),
    maxOutputTokens: z.number().int().positive().max(1_000_000_000).optional(),
  })
  .strict()
  .openapi('Limits', { description: 'Spend caps the model gateway holds the session to; past one, calls are refused with `budget_exceeded`' })
export type Limits = z.infer<typeof Limits>

export const WorkspaceFile = z
  .object({ path: WorkspacePath, content: z.string().max(256 * 1024) })
  .strict()
  .openapi('WorkspaceFile')

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...(keyof typeof ERROR_STATUS)[]]),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error')
