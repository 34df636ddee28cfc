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
    // Each project's longest file; the quick projects start no stack and are bound by CPU: longest first is all they need.
    const leads = new Map<string, TestSpecification>()
    for (const spec of longest) if (spec.project.config.sequence.groupOrder > 0 && !leads.has(spec.project.name)) leads.set(spec.project.name, spec)
    const leading = (spec: TestSpecification) => Number(leads.get(spec.project.name) === spec)
    return longest.sort(
      (a, b) => a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder || leading(b) - leading(a) || seconds(b) - seconds(a),
    )
  }
}
