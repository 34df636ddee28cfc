import { relative } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'
import { expectedSeconds } from './expected-seconds.ts'

/**
 * Starts the longest files first, whichever project they belong to. vitest's own order runs one
 * project after another (by name) and, on a fresh clone with no timings of its own, larger files
 * first; the files that wait longest (a watchdog, a retention, a restarted Worker) then come last
 * and leave the cores idle at the end. Longest first lets the short files fill their waits.
 */
export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { root } = this.ctx.config
    const expected = expectedSeconds(root)
    const seconds = (spec: TestSpecification) => expected(relative(root, spec.moduleId))
    return [...files].sort(
      (a, b) => a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder || seconds(b) - seconds(a),
    )
  }
}
