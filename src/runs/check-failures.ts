import type { Bindings } from '../env'
import { githubApi } from '../github/credentials'
import { errorMessage, log } from '../lib/log'
import { failed, failingPart, type Annotation, type Failure, type FixTask } from './github-followups'

/** A fix run's prompt names a few failures, not a whole matrix's. */
const MAX_FAILURES = 3
/** A job's log is read this far; its failing part is cut from it. */
const MAX_LOG_BYTES = 2_000_000

type CheckRun = { id: number; name: string; conclusion: string | null; output?: { title?: string | null; summary?: string | null; text?: string | null } }
type Job = { id: number; name: string; conclusion: string | null }

/**
 * What failed, read through GitHub's API for a fix run's prompt: a check run's annotations; a
 * check suite's failed check runs with what they reported and their annotations; a workflow
 * run's failed jobs with the failing part of their logs. A read that fails leaves its part out:
 * the delivery said enough to start on.
 */
export async function readFailures(env: Bindings, task: FixTask): Promise<Failure[]> {
  const { owner, repo } = task.target
  const base = `/repos/${owner}/${repo}`
  const api = await githubApi(env, task.target)
  const annotations = (checkRunId: number) => api.request<Annotation[]>('GET', `${base}/check-runs/${checkRunId}/annotations?per_page=50`)
  const { check } = task
  try {
    if (check.kind === 'check_run') return [{ name: check.name, annotations: await annotations(check.id) }]
    if (check.kind === 'check_suite') {
      const { check_runs: runs } = await api.request<{ check_runs: CheckRun[] }>('GET', `${base}/check-suites/${check.id}/check-runs?filter=latest&per_page=100`)
      return Promise.all(
        runs
          .filter((r) => failed(r.conclusion))
          .slice(0, MAX_FAILURES)
          .map(async (r) => ({
            name: r.name,
            report: [r.output?.title, r.output?.summary, r.output?.text].filter(Boolean).join('\n\n'),
            annotations: await annotations(r.id),
          })),
      )
    }
    const { jobs } = await api.request<{ jobs: Job[] }>('GET', `${base}/actions/runs/${check.id}/jobs?filter=latest&per_page=100`)
    return Promise.all(
      jobs
        .filter((j) => failed(j.conclusion))
        .slice(0, MAX_FAILURES)
        .map(async (j) => ({ name: j.name, log: failingPart(await api.text(`${base}/actions/jobs/${j.id}/logs`, MAX_LOG_BYTES)) })),
    )
  } catch (err) {
    log('warn', 'check failures unavailable', { repo: `${owner}/${repo}`, kind: check.kind, err: errorMessage(err) })
    return []
  }
}
