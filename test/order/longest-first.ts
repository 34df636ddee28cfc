import { relative } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'
import { expectedSeconds } from './expected-seconds.ts'

/**
 * Starts the longest files first, whichever project they belong to, each project's longest before
 * all others. vitest's own order runs one project after another (by name) and, on a fresh clone
 * with no timings of its own, larger files first; the files that wait longest (a watchdog, a
 * retention, a restarted Worker) then come last and leave the cores idle at the end. Longest first
 * lets the short files fill their waits; each session project's first file going at once starts its
 * stack (the e2e project's shared one) at the start, not when the longest files of others free a place.
 */
export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { root } = this.ctx.config
    const expected = expectedSeconds(root)
    const seconds = (spec: TestSpecification) => expected(relative(root, spec.moduleId))
    const longest = [...files].sort((a, b) => seconds(b) - seconds(a))
    const leads = new Set<TestSpecification>()
    const seen = new Set<string>()
    for (const spec of longest) {
      // The quick projects start no stack and are bound by CPU: longest first is all they need.
      if (spec.project.config.sequence.groupOrder === 0 || seen.has(spec.project.name)) continue
      seen.add(spec.project.name)
      leads.add(spec)
    }
    return longest.sort(
      (a, b) =>
        a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder ||
        Number(leads.has(b)) - Number(leads.has(a)) ||
        seconds(b) - seconds(a),
    )
  }
}
