import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
/** The files opencode writes beside the install, as it writes them (it installs again when one is missing). */
const GITIGNORE = ['node_modules', 'package.json', 'package-lock.json', 'bun.lock', '.gitignore'].join('\n')
const SMALL_FILES = ['package.json', 'package-lock.json', '.gitignore']

/**
 * At its first configuration load opencode installs its plugin package (`@opencode-ai/plugin`,
 * about 64 MB with its dependencies) into `~/.config/opencode` with npm: seconds of CPU and a
 * registry download in every new sandbox, and files that appear and vanish while a fork copies
 * the home. The E2B template installs that folder once when it is built (e2b.Dockerfile); local
 * sandboxes get the same folder, installed once per machine (from npm's cache, as the project
 * lists the package among its own) and hard-linked into each new home. No sandbox waits for that
 * install: one made before it is done installs its own, as opencode would anyway.
 */
export async function seedOpencodeConfig(home: string): Promise<void> {
  const folder = installedFolder()
  if (!folder) return
  const into = join(home, '.config', 'opencode')
  const modules = join(folder, 'node_modules')
  try {
    await mkdir(into, { recursive: true })
    // Hard links cannot cross file systems: a sandbox root elsewhere gets a copy.
    await run('cp', ['-a', '--link', '--', modules, into]).catch(async () => {
      await rm(join(into, 'node_modules'), { recursive: true, force: true })
      await run('cp', ['-a', '--reflink=auto', '--', modules, into])
    })
    // Copied, not linked: opencode and npm may rewrite these in place.
    await Promise.all(SMALL_FILES.map((f) => copyFile(join(folder, f), join(into, f))))
  } catch {
    // Half a folder would pass opencode's check: none, and opencode installs its own.
    await Promise.all(['node_modules', ...SMALL_FILES].map((f) => rm(join(into, f), { recursive: true, force: true })))
  }
}

let installing: Promise<string | undefined> | undefined
let installed: string | undefined

/** Starts the install when nothing has yet; answers the folder once it is there. */
export function installedFolder(): string | undefined {
  installing ??= install().then((folder) => (installed = folder))
  return installed
}

/** The installed folder for this opencode's version, or undefined when npm could not install it (the sandbox then installs its own, as before). */
async function install(): Promise<string | undefined> {
  const { version } = JSON.parse(await readFile(join(PROJECT_ROOT, 'node_modules', 'opencode-ai', 'package.json'), 'utf8')) as { version: string }
  const folder = join(PROJECT_ROOT, 'node_modules', '.cache', 'opencode-config', version)
  if (await stat(join(folder, 'package-lock.json')).catch(() => undefined)) return folder
  // Stacks start side by side: each installs into a folder of its own and the first to finish names it.
  const building = `${folder}.${randomBytes(4).toString('hex')}`
  try {
    await mkdir(building, { recursive: true })
    await writeFile(join(building, 'package.json'), JSON.stringify({ dependencies: { '@opencode-ai/plugin': version } }, null, 2))
    await writeFile(join(building, '.gitignore'), GITIGNORE)
    await run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: building,
      timeout: 180_000,
    })
    await rename(building, folder).catch(async () => {
      if (!(await stat(join(folder, 'package-lock.json')).catch(() => undefined))) throw new Error('not installed')
    })
    return folder
  } catch {
    return undefined
  } finally {
    await rm(building, { recursive: true, force: true })
  }
}
