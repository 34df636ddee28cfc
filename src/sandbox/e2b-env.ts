import { shellQuote } from './provider'

/**
 * A sandbox's secrets on E2B live in one file in its home, never in the environment E2B gives its
 * processes: envd keeps create-time environment in its memory and hands it to every process, so a
 * fork (which copies memory) or a snapshot would carry it into a sandbox of someone else. The file
 * is written through the files API (no command line holds a value) and read by the commands that
 * need it.
 */
export const ENV_FILE = '.sandbox-env'

/** The shell lines that export `envs`, for `.` to read. */
export function envFile(envs: Record<string, string>): string {
  return Object.entries(envs)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}\n`)
    .join('')
}

/**
 * Makes the workspace and, with `envFile`, an empty owner-only env file (the files API then fills
 * it, and an existing file keeps its mode), and prints the home and the workspace. Without it, a
 * sandbox has no env file until its environment is given (after a snapshot of its disk).
 */
export function prepareSandbox(envFile: boolean): string {
  const file = envFile ? `(umask 077 && : > "$HOME/${ENV_FILE}") && ` : ''
  return `mkdir -p "$HOME/workspace" && ${file}printf "%s\\n%s" "$HOME" "$HOME/workspace"`
}

/** `command` with the sandbox's environment read from its file first, as create-time environment would have given it. */
export function withSandboxEnv(command: string): string {
  return `if [ -f "$HOME/${ENV_FILE}" ]; then . "$HOME/${ENV_FILE}"; fi; ${command}`
}

/**
 * In a fork, ends every process of the sandbox user that came over from the original (a server or
 * daemon it left running holds the original's credentials in its memory). `kill -1` spares only
 * the shell that sends it. Guarded by E2B's own marker, so that it is never run where a command
 * could reach the processes of a machine that is not a sandbox of its own.
 */
export const END_ORIGINAL_PROCESSES = `if [ "$E2B_SANDBOX" = true ] && [ "$(id -u)" != 0 ]; then kill -KILL -1 2>/dev/null; fi; exit 0`
