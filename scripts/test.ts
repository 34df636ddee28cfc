import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * `npm test`: the type checks and the import rules side by side with the tests. One after the
 * other they held the first half-minute of a two-core machine on one core. A check's output is
 * shown when it ends; the command fails when any part fails. Arguments go to vitest.
 */
type Part = { name: string; command: string; args: string[]; quiet: boolean }

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name: string) => join(PROJECT_ROOT, 'node_modules', '.bin', name)
const parts: Part[] = [
  { name: 'typecheck', command: 'npm', args: ['run', '--silent', 'typecheck'], quiet: true },
  { name: 'check:cycles', command: 'npm', args: ['run', '--silent', 'check:cycles'], quiet: true },
  { name: 'vitest', command: bin('vitest'), args: ['run', ...process.argv.slice(2)], quiet: false },
]

function run({ name, command, args, quiet }: Part): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: PROJECT_ROOT, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit' })
    const output: Buffer[] = []
    child.stdout?.on('data', (d: Buffer) => output.push(d))
    child.stderr?.on('data', (d: Buffer) => output.push(d))
    child.on('close', (code) => {
      if (quiet) process.stdout.write(`\n${name}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`}\n${code === 0 ? '' : Buffer.concat(output).toString()}`)
      resolve(code === 0)
    })
  })
}

const passed = await Promise.all(parts.map(run))
process.exitCode = passed.every(Boolean) ? 0 : 1
