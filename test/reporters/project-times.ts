import type { Reporter, TestModule } from 'vitest/node'

type Span = { files: number; start: number; end: number }

/**
 * Prints, at the end of a run, each project's wall time (its first file's start to its last
 * file's end) beside the whole run's, so a slow project shows at once and docs/testing.md's figure
 * comes from a real run. Projects overlap, so the rows add up to more than the total.
 */
export default class ProjectTimes implements Reporter {
  private readonly spans = new Map<string, Span>()
  private readonly started = Date.now()

  onTestModuleStart(module: TestModule) {
    const name = module.project.name || 'default'
    const span = this.spans.get(name) ?? { files: 0, start: Date.now(), end: Date.now() }
    span.files++
    this.spans.set(name, span)
  }

  onTestModuleEnd(module: TestModule) {
    const span = this.spans.get(module.project.name || 'default')
    if (span) span.end = Date.now()
  }

  onTestRunEnd() {
    const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`
    const rows = [...this.spans].sort(([, a], [, b]) => a.start - b.start)
    const lines = rows.map(([name, s]) => `  ${name.padEnd(10)} ${String(s.files).padStart(4)} files  ${seconds(s.end - s.start).padStart(7)}  (from +${seconds(s.start - this.started)})`)
    process.stdout.write(`\nWall time by project:\n${lines.join('\n')}\n  ${'all'.padEnd(10)} ${' '.repeat(10)}  ${seconds(Date.now() - this.started).padStart(7)}\n`)
  }
}
