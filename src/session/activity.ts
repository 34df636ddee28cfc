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
