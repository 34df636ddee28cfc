import { fail, ok, type Outcome } from '../lib/errors'
import type { Activity } from './ports'

export type ActivityParts = {
  turns: { readonly running: boolean }
  queue: { waiting(): number }
  lifecycle: { readonly busy: boolean }
  forks: { readonly copying: boolean }
}

/** The one meaning of "busy": what keeps the session awake and its past unchanged. */
export class SessionActivity implements Activity {
  constructor(private readonly p: ActivityParts) {}

  get busy(): boolean {
    return this.p.turns.running || this.p.queue.waiting() > 0 || this.p.lifecycle.busy || this.p.forks.copying
  }
}

/** Whether the session's past may be changed now (an undo, a fork, a restore): open, idle and nothing under way. */
export function quietFor(action: string, activity: Activity, store: { isOver(): boolean; row: { status: string } }): Outcome<void> {
  if (store.isOver()) return fail('conflict', `the session is ${store.row.status}`)
  if (activity.busy || store.row.status !== 'idle') return fail('conflict', `a turn is running or messages are waiting; ${action} once the session is idle`)
  return ok(undefined)
}
