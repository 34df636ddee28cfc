/** UTC days written YYYY-MM-DD, the unit of usage and of its queries. */

export const DAY_MS = 86_400_000

/** The UTC day of an instant, as YYYY-MM-DD. */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

/** The instant a UTC day starts. */
export const startOf = (day: string): number => Date.parse(`${day}T00:00:00Z`)

/** A real calendar day written YYYY-MM-DD (not 2026-02-30). */
export function isDay(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(startOf(text)) && dayOf(startOf(text)) === text
}

/** Every day from `from` to `to`, both included. */
export function daysIn(from: string, to: string): string[] {
  const days: string[] = []
  for (let t = startOf(from); t <= startOf(to); t += DAY_MS) days.push(dayOf(t))
  return days
}
