import type { SkillSpec } from '../contracts'
import type { SandboxFile } from '../sandbox/provider'

/** Where opencode looks for the sandbox user's own skills, relative to their home. */
export const SKILLS_DIR = '.config/opencode/skills'

/**
 * A skill as the files opencode loads: `<name>/SKILL.md` with the frontmatter it requires, and
 * the skill's supporting files beside it. Kept in the sandbox user's home (below `root`), out of
 * the repository. Claude Code and Codex read the same layout (Agent Skills) from their own folders.
 */
export function skillFiles(skills: SkillSpec[], root = SKILLS_DIR): SandboxFile[] {
  return skills.flatMap((skill) => {
    const dir = `${root}/${skill.name}`
    const frontmatter = `---\nname: ${skill.name}\ndescription: ${JSON.stringify(skill.description)}\n---\n\n`
    return [
      { path: `${dir}/SKILL.md`, content: frontmatter + skill.instructions },
      ...Object.entries(skill.files ?? {}).map(([path, content]) => ({ path: `${dir}/${path}`, content })),
    ]
  })
}
