import { capText, MAX_MESSAGE_TEXT } from '../../events/agent-values'
import { CHANGES_COMMAND, parseChanges, type FileChange as ChangedFile } from '../../github/changes'
import { fail, ok, type Outcome } from '../../lib/errors'
import { errorMessage } from '../../lib/log'
import { BASE_COMMIT } from '../../sandbox/git'
import { SandboxError, type SandboxProvider } from '../../sandbox/provider'
import type { AgentConnection } from '../agent/connection'
import type { SessionStore } from '../store/session-store'

export type FileChange = { path: string; status?: string; additions: number; deletions: number; patch?: string }

const noSandbox = () => fail('sandbox_unavailable', 'the session has no running sandbox')

/** The session's workspace as clients and runs read it: its changes and its files. */
export class Workspace {
  constructor(
    private readonly store: SessionStore,
    private readonly provider: SandboxProvider,
    private readonly connection: AgentConnection,
  ) {}

  /** The sandbox, while the session is open: an ended session's record only waits for its kill. */
  private running() {
    return this.store.isOver() ? undefined : this.store.sandbox()
  }

  /**
   * What changed, file by file: the working tree against the commit it started from (the cloned
   * ref, or the baseline commit of a workspace without a repository).
   */
  async diff(): Promise<Outcome<{ files: FileChange[] }>> {
    const record = this.running()
    if (!record || !this.connection.linked) return noSandbox()
    const res = await this.connection.clientFor(record).vcs.diff({ mode: 'git' })
    if (!res.data) return fail('agent_unreachable', `opencode answered ${res.response.status}`)
    return ok({
      files: res.data.map((d) => ({ path: d.file ?? '', status: d.status, additions: d.additions, deletions: d.deletions, patch: d.patch })),
    })
  }

  /**
   * The changes as one unified diff, new files included. It marks untracked files
   * intent-to-add in the index, so it is meant for a run's result, just before its sandbox goes.
   */
  async patch(): Promise<Outcome<string>> {
    const record = this.running()
    if (!record) return noSandbox()
    const r = await this.provider.exec(record.sandboxId, `git add --all --intent-to-add && git diff --no-color --no-ext-diff ${BASE_COMMIT}`, {
      cwd: record.workdir,
      timeoutMs: 60_000,
    })
    if (r.exitCode !== 0) return fail('sandbox_unavailable', `git diff exited with ${r.exitCode}`)
    return ok(capText(r.stdout, MAX_MESSAGE_TEXT))
  }

  /**
   * The changes file by file with their modes, against the commit the workspace started from
   * (`head`), for a commit written through GitHub's API. Stages everything: meant for a run's
   * end, like patch().
   */
  async changes(): Promise<Outcome<{ head: string; changes: ChangedFile[] }>> {
    const record = this.running()
    if (!record) return noSandbox()
    const r = await this.provider.exec(record.sandboxId, CHANGES_COMMAND, { cwd: record.workdir, timeoutMs: 60_000 })
    if (r.exitCode !== 0) return fail('sandbox_unavailable', `git exited with ${r.exitCode} listing the changes`)
    try {
      return ok(parseChanges(r.stdout))
    } catch (err) {
      return fail('bad_request', errorMessage(err))
    }
  }

  /** A file, read through the provider; `path` was checked to stay inside the workspace. */
  async readFile(path: string): Promise<Outcome<{ path: string; type: 'text' | 'binary'; content: string }>> {
    const record = this.running()
    if (!record) return noSandbox()
    try {
      const file = await this.provider.readFile(record.sandboxId, `${record.workdir}/${path}`)
      return ok({ path, ...file })
    } catch (err) {
      if (err instanceof SandboxError && err.code === 'not_found') return fail('not_found', `no file ${path} in the workspace`)
      if (err instanceof SandboxError && err.code === 'failed') return fail('bad_request', err.message)
      if (err instanceof SandboxError && err.code === 'too_large') return fail('payload_too_large', err.message)
      return fail('sandbox_unavailable', errorMessage(err))
    }
  }
}
