import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * Which projects' files start first among those that run sessions (one pool of workers): the
 * long fault files before the many short end-to-end ones, so that the short ones fill the end of
 * the run instead of one long file running alone on a half-idle machine.
 */
const FIRST_TO_LAST = ['browser', 'e2b', 'faults', 'e2e']

export default class RunOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // The quick projects run in a group of their own before these; they rank -1.
    const rank = (spec: TestSpecification) => FIRST_TO_LAST.indexOf(spec.project.name)
    // Sorting is stable: within a project, vitest's own order stays.
    return (await super.sort(files)).sort((a, b) => a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder || rank(a) - rank(b))
  }
}
