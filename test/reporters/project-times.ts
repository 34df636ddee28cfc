import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { Reporter, TestModule, Vitest } from 'vitest/node'
import { FILE_SECONDS } from '../order/expected-seconds'

type Span = { files: number; start: number; end: number }

/**
 * Prints, at the end of a run, each project's wall time (its first file's start to its last
 * file's end) beside the whole run's, so a slow project shows at once and docs/testing.md's figure
 * comes from a real run. Projects overlap, so the rows add up to more than the total.
 * With UPDATE_FILE_SECONDS=1 it also records each file's seconds for the order of the next runs
 * (test/order/longest-first.ts).
 */
export default class ProjectTimes implements Reporter {
  private readonly spans = new Map<string, Span>()
  private readonly started = Date.now()
  private readonly fileSeconds: Record<string, number> = {}
  private root = ''

  onInit(vitest: Vitest) {
    this.root = vitest.config.root
  }

  onTestModuleStart(module: TestModule) {
    const name = module.project.name || 'default'
    const span = this.spans.get(name) ?? { files: 0, start: Date.now(), end: Date.now() }
    span.files++
    this.spans.set(name, span)
  }

  onTestModuleEnd(module: TestModule) {
    const span = this.spans.get(module.project.name || 'default')
    if (span) span.end = Date.now()
    this.fileSeconds[relative(this.root, module.moduleId)] = Math.round(module.diagnostic().duration / 1000)
  }

  onTestRunEnd() {
    const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`
    const rows = [...this.spans].sort(([, a], [, b]) => a.start - b.start)
    const lines = rows.map(([name, s]) => `  ${name.padEnd(10)} ${String(s.files).padStart(4)} files  ${seconds(s.end - s.start).padStart(7)}  (from +${seconds(s.start - this.started)})`)
    if (process.env.UPDATE_FILE_SECONDS === '1') {
      // Over the record, so that a run of some files keeps the others' (and a file deleted since leaves it).
      const file = join(this.root, FILE_SECONDS)
      const all = { ...(JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>), ...this.fileSeconds }
      const sorted = Object.fromEntries(Object.entries(all).filter(([f]) => existsSync(join(this.root, f))).sort(([a], [b]) => a.localeCompare(b)))
      writeFileSync(file, `${JSON.stringify(sorted, null, 2)}\n`)
    }
    process.stdout.write(`\nWall time by project:\n${lines.join('\n')}\n  ${'all'.padEnd(10)} ${' '.repeat(10)}  ${seconds(Date.now() - this.started).padStart(7)}\n`)
  }
}
