import { readFileSync } from 'node:fs'
import type { Json } from './http'

/** The Worker's own JSON log lines in a stack's log file (wrangler dev colours the warnings). */
export function logEvents(file: string): Json[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((raw) => {
      const line = raw.replace(/\u001b\[[\d;]*m/g, '')
      const start = line.indexOf('{"level"')
      if (start < 0) return []
      try {
        return [JSON.parse(line.slice(start)) as Json]
      } catch {
        return []
      }
    })
}
