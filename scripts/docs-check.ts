import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

/**
 * Checks that keep the README and docs/ true to the repository as it changes: relative links
 * that lead somewhere, a settings reference that names every binding the Worker declares, no
 * project history in the text, and a front door short enough to read.
 */

/** The README may grow to this many lines; the rest belongs in docs/. */
export const README_MAX_LINES = 300

/** README.md and every markdown file of docs/, relative to the root. */
export function docFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
  return ['README.md', ...docs.map((f) => join('docs', f))]
}

/** The text outside fenced code blocks, line by line (a link in a shell example is not a link). */
function proseLines(text: string): { line: string; n: number }[] {
  let fenced = false
  const out: { line: string; n: number }[] = []
  text.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced
    else if (!fenced) out.push({ line, n: i + 1 })
  })
  return out
}

/** GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/** The anchors a markdown file's headings make, duplicates numbered as GitHub numbers them. */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const anchors = new Set<string>()
  for (const { line } of proseLines(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!m) continue
    const base = slug(m[1]!)
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

/** Every relative link of a markdown text: `[text](target)` and `![alt](target)`, but not URLs. */
export function relativeLinks(markdown: string): { target: string; n: number }[] {
  const links: { target: string; n: number }[] = []
  for (const { line, n } of proseLines(markdown)) {
    // Inline code may hold brackets and parentheses that are not links.
    const prose = line.replace(/`[^`]*`/g, '``')
    for (const m of prose.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
      const target = m[1]!
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ target, n })
    }
  }
  return links
}

/** Links of the README and docs/ whose file, or whose heading in a markdown file, does not exist. */
export function brokenLinks(root: string): string[] {
  const problems: string[] = []
  for (const file of docFiles(root)) {
    const text = readFileSync(join(root, file), 'utf8')
    for (const { target, n } of relativeLinks(text)) {
      const [path, anchor] = target.split('#') as [string, string | undefined]
      const resolved = path === '' ? join(root, file) : join(root, dirname(file), path)
      const where = `${file}:${n} → ${target}`
      if (!existsSync(resolved)) {
        problems.push(`${where}: no file ${relative(root, resolved)}`)
        continue
      }
      if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) {
        problems.push(`${where}: no heading #${anchor} in ${relative(root, resolved)}`)
      }
    }
  }
  return problems
}

/** The names of the Worker's bindings: variables, secrets and bindings of src/env.ts and the Durable Objects'. */
export function bindingNames(root: string): string[] {
  const names = new Set<string>()
  for (const file of ['src/env.ts', 'src/durable-objects.ts']) {
    const source = readFileSync(join(root, file), 'utf8')
    const block = file.endsWith('env.ts') ? source : (/export type DurableObjectBindings = \{([^}]*)\}/.exec(source)?.[1] ?? '')
    for (const m of block.matchAll(/^\s+([A-Z][A-Z0-9_]+)\??:/gm)) names.add(m[1]!)
  }
  return [...names].sort()
}

/** The Settings section of docs/operations.md: from its heading to the next of the same level. */
export function settingsSection(operations: string): string {
  const start = operations.indexOf('\n## Settings\n')
  if (start < 0) throw new Error('docs/operations.md has no "## Settings" section')
  const end = operations.indexOf('\n## ', start + 1)
  return operations.slice(start, end < 0 ? undefined : end)
}

/** Bindings the Worker declares that the settings reference does not name (as `NAME`). */
export function undocumentedSettings(root: string): string[] {
  const section = settingsSection(readFileSync(join(root, 'docs', 'operations.md'), 'utf8'))
  return bindingNames(root).filter((name) => !section.includes(`\`${name}\``))
}

/**
 * Project history in the text: a working session or an issue by number. The docs say what is
 * true now; how it came to be is the git log's.
 */
const HISTORY = [/\bsession \d+\b/i, /\bissues? #?\d+/i, /(?:^|[\s(])#\d+\b/]

export function historyMentions(root: string): string[] {
  const found: string[] = []
  for (const file of docFiles(root)) {
    for (const { line, n } of proseLines(readFileSync(join(root, file), 'utf8'))) {
      if (HISTORY.some((re) => re.test(line))) found.push(`${file}:${n}: ${line.trim().slice(0, 100)}`)
    }
  }
  return found
}

export function readmeLines(root: string): number {
  return readFileSync(join(root, 'README.md'), 'utf8').replace(/\n$/, '').split('\n').length
}
