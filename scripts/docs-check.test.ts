import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../local/stack'
import { anchorsOf, brokenLinks, historyMentions, README_MAX_LINES, readmeLines, relativeLinks, slug, undocumentedSettings } from './docs-check'

describe('the README and docs/', () => {
  it('link only to files and headings that exist', () => {
    expect(brokenLinks(PROJECT_ROOT)).toEqual([])
  })

  it('name every binding of src/env.ts and the Durable Objects in the settings of docs/operations.md', () => {
    expect(undocumentedSettings(PROJECT_ROOT)).toEqual([])
  })

  it('carry no session or issue numbers', () => {
    expect(historyMentions(PROJECT_ROOT)).toEqual([])
  })

  it(`keep the README to ${README_MAX_LINES} lines`, () => {
    expect(readmeLines(PROJECT_ROOT)).toBeLessThanOrEqual(README_MAX_LINES)
  })
})

describe('reading links and headings', () => {
  it('makes anchors as GitHub does', () => {
    expect(slug("Where the relay's CPU goes")).toBe('where-the-relays-cpu-goes')
    expect(slug('What of `OPENCODE_CONFIG` reaches a sandbox')).toBe('what-of-opencode_config-reaches-a-sandbox')
    expect(slug('`npm run dev` only')).toBe('npm-run-dev-only')
    expect([...anchorsOf('# A\n\n## Notes\n\n```\n# not a heading\n```\n\n## Notes\n')]).toEqual(['a', 'notes', 'notes-1'])
  })

  it('finds relative links outside code, and leaves URLs and inline code alone', () => {
    const text = [
      'See [ops](operations.md#settings) and ![shot](playground.png), not [site](https://example.com).',
      'Inline `[x](nowhere.md)` is code.',
      '```sh',
      'echo "[y](nowhere.md)"',
      '```',
      '[up](../bench/RESULTS.md)',
    ].join('\n')
    expect(relativeLinks(text)).toEqual([
      { target: 'operations.md#settings', n: 1 },
      { target: 'playground.png', n: 1 },
      { target: '../bench/RESULTS.md', n: 6 },
    ])
  })
})
