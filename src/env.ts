import type { DurableObjectBindings } from './durable-objects'

/** Worker bindings: wrangler.toml vars, secrets and the Durable Object namespaces (typed by their RPC interfaces). */
export type Bindings = DurableObjectBindings & {
  API_KEYS?: string
  SANDBOX_PROVIDER?: string
  LOCAL_SANDBOX_URL?: string
  LOCAL_SANDBOX_TOKEN?: string
  E2B_API_KEY?: string
  E2B_TEMPLATE?: string
  E2B_API_URL?: string
  E2B_SANDBOX_URL?: string
  /** the E2B plan's limits: sandboxes running at once, seconds one may run without a pause */
  E2B_MAX_SANDBOXES?: string
  E2B_MAX_RUN_SECONDS?: string
  OPENCODE_CONFIG?: string
  DEFAULT_MODEL?: string
  SESSION_IDLE_SECONDS?: string
  PENDING_TIMEOUT_SECONDS?: string
  WARM_POOL_SIZE?: string
  WARM_POOL_CONCURRENCY?: string
  /** JSON list of repository warm pools: [{repo, ref?, setup?, size, maxAgeSeconds?}] */
  WARM_POOLS?: string
  /** JSON object of intervals and deadlines in ms, for tests (src/config/timings.ts); unset keeps the documented ones */
  TIMINGS?: string
  WEBHOOK_SECRET?: string
  /** signs run callbacks; without it callbacks go out unsigned */
  CALLBACK_SECRET?: string
  /** "1" lets callbacks go to loopback over http and to private addresses (local stack and tests) */
  ALLOW_LOCAL_CALLBACKS?: string
  /** the API key whose tenant owns runs of POST /v1/webhooks/runs (default: the first of API_KEYS) */
  WEBHOOK_TENANT_KEY?: string
  GITHUB_WEBHOOK_SECRET?: string
  GITHUB_TOKEN?: string
  GITHUB_API_URL?: string
  /** JSON: tenant id (or "*") → `owner/repo` patterns the deployment's GitHub credential may be used on for that tenant */
  GITHUB_TENANT_REPOS?: string
  /** a GitHub App (its id and PEM private key) instead of GITHUB_TOKEN: installation tokens per repository */
  GITHUB_APP_ID?: string
  GITHUB_APP_PRIVATE_KEY?: string
  /** what a GitHub-triggered run ends in: pull_request (default) or comment */
  GITHUB_OUTPUT?: string
  /** `Name <email>` of the commits the Worker writes */
  GITHUB_COMMIT_AUTHOR?: string
  /** the phrase in an issue or comment that starts a run (default /opencode) */
  GITHUB_TRIGGER?: string
  /** Slack's signing secret: deliveries to POST /v1/webhooks/slack are verified with it */
  SLACK_SIGNING_SECRET?: string
  /** the bot token runs post and edit their thread messages with */
  SLACK_BOT_TOKEN?: string
  /** Slack's Web API (default https://slack.com/api; the stand-in's in tests and npm run dev) */
  SLACK_API_URL?: string
  /** JSON: Slack team id → the tenant id whose runs its mentions start */
  SLACK_TEAM_TENANTS?: string
  /** JSON: Slack channel id → the https repository URL a mention there works on when it names none */
  SLACK_CHANNEL_REPOS?: string
  /** JSON: Slack team id → the user ids whose button answers a Slack-started run's asks (without it, such runs deny their asks) */
  SLACK_APPROVERS?: string
  /** JSON: Slack team id → the only user ids whose mentions and thread replies reach runs (a team not named: any of its members) */
  SLACK_USERS?: string
  /** how sandboxes reach this Worker's model gateway, e.g. https://agents.example.com */
  PUBLIC_URL?: string
  PAUSED_RETENTION_SECONDS?: string
  ENDED_RETENTION_SECONDS?: string
  PROVISION_TIMEOUT_SECONDS?: string
  RECOVERY_TIMEOUT_SECONDS?: string
  SNAPSHOT_MAX_AGE_SECONDS?: string
  SNAPSHOTS_PER_REPO?: string
  MAX_ACTIVE_SESSIONS_PER_TENANT?: string
  MAX_SESSION_CREATES_PER_MINUTE?: string
  /** runs a tenant may start per minute, checked before a run's object exists (default 30) */
  MAX_RUN_CREATES_PER_MINUTE?: string
  /** schedules a tenant may have (default 20) */
  MAX_SCHEDULES_PER_TENANT?: string
  TENANT_MAX_COST_USD_PER_DAY?: string
  TENANT_MAX_COST_USD_PER_MONTH?: string
  /** comma-separated author_association values whose issues and comments start runs */
  GITHUB_ALLOWED_ASSOCIATIONS?: string
  /** "1": a failed check on a pull request the service opened starts a run that fixes it */
  GITHUB_FIX_CHECKS?: string
  /** fix runs per pull request, ever (default 2) */
  GITHUB_FIX_ATTEMPTS?: string
  /** runs GitHub may start per repository per hour (default 10) */
  GITHUB_MAX_RUNS_PER_HOUR?: string
  /** seals session secrets and repository tokens at rest (src/lib/sealed.ts): at least 32 random characters */
  SECRETS_KEY?: string
  /** comma-separated host names the Worker answers (the Host header); unset answers any (npm run dev sets it) */
  ALLOWED_HOSTS?: string
  /** comma-separated origins (`https://app.example.com`) whose web pages may call /v1 (CORS); unset grants none */
  CORS_ORIGINS?: string
  /** the R2 bucket sessions keep their checkpoints in (docs/checkpoints.md); without it, checkpoints are off */
  CHECKPOINTS?: R2Bucket
  /** the most one checkpoint may hold, compressed, in bytes (default 8 MiB, at most 10 MiB) */
  CHECKPOINT_MAX_BYTES?: string
  /** the most the earlier conversation given to a Claude Code or Codex agent in a new sandbox may hold, in bytes (default 64 KiB) */
  TRANSCRIPT_MAX_BYTES?: string
  /** Workers Analytics Engine dataset for usage points (optional; README, "Usage") */
  USAGE?: AnalyticsEngineDataset
}

/** `apiKey` is set only when the request came with one (not with a session token). */
/** `upload`: a message's files, staged in its session as the body streamed in (src/api/message-files.ts). */
export type AppEnv = { Bindings: Bindings; Variables: { tenant: string; apiKey?: string; upload?: { id: string; sizes: number[] } } }
