import { relative } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * Starts the longest files first, whatever their project: vitest's own order runs one project's
 * files after another's, which left the longest fault tests to start last and run alone at the
 * end. Longest means the last run's duration when vitest remembers one for every file, else the
 * file's size (a fresh clone remembers nothing).
 */
export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cache = this.ctx.cache
    const key = (spec: TestSpecification) => `${spec.project.name}:${relative(this.ctx.config.root, spec.moduleId)}`
    const durations = files.map((spec) => cache.getFileTestResults(key(spec))?.duration)
    const sizes = files.map((spec) => cache.getFileStats(key(spec))?.size ?? 0)
    const weights = durations.every((d) => d !== undefined) ? (durations as number[]) : sizes
    const order = files.map((spec, i) => ({ spec, weight: weights[i]! }))
    order.sort((a, b) => a.spec.project.config.sequence.groupOrder - b.spec.project.config.sequence.groupOrder || b.weight - a.weight)
    return order.map((o) => o.spec)
  }
}
