import { z } from 'zod'

/** A count setting: a whole number of at least 1 (a rate, a size). */
const Count = z.string().trim().regex(/^\d+$/, 'expected a whole number').transform(Number).pipe(z.number().int().min(1, 'expected at least 1').max(1_000_000, 'expected at most 1000000'))

/**
 * A count setting read: `fallback` when unset; `fallback` and the reason when it is set to
 * anything else, for /ready to say. The reason names the setting and the rule, never the value.
 */
export function countSetting(name: string, text: string | undefined, fallback: number): { value: number; error?: string } {
  if (text === undefined || text.trim() === '') return { value: fallback }
  const parsed = Count.safeParse(text)
  if (parsed.success) return { value: parsed.data }
  return { value: fallback, error: `${name} is not valid: ${parsed.error.issues[0]!.message}` }
}
