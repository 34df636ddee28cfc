/** The q-th quantile (0..1) of some numbers, by nearest rank. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

export const median = (values: number[]) => quantile(values, 0.5)

/** Milliseconds, with two decimals below 10 ms. */
export const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(Math.abs(n) < 10 ? 2 : 0)} ms` : 'n/a')
/** A difference in milliseconds, signed. */
export const us = (n: number) => (Number.isFinite(n) ? `${n.toFixed(n < 10 ? 1 : 0)} µs` : 'n/a')
export const plusMs = (n: number) => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${ms(n)}` : 'n/a')
export const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}x` : 'n/a')
export const perSecond = (n: number) => (Number.isFinite(n) ? `${Math.round(n).toLocaleString('en-US')}/s` : 'n/a')

/** Wall-clock milliseconds since the epoch with sub-millisecond precision: the scripted model's stamps use the same. */
export const now = () => performance.timeOrigin + performance.now()
export { sleep } from '../../src/lib/sleep'
