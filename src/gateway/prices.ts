import { OPENROUTER_VENDORS, PRICE_TABLE, type ModelPrice } from './price-table'
import type { KeyStyle } from './calls'

/**
 * The price of the model a request names: the deployment's own `cost` for it in OPENCODE_CONFIG
 * first, then the price table of its provider. Ids are matched by family, so the dated and
 * versioned names providers publish (`gpt-4o-2024-08-06`, `claude-sonnet-4@20250514`,
 * `mistral-large-latest`, `gemini-2.0-flash-001`) find the row of the model they are.
 */

export type { ModelPrice }

/** Case and the `.`/`-` spelling of versions do not tell models apart (`claude-sonnet-4.5` is `claude-sonnet-4-5`). */
const normal = (id: string) => id.toLowerCase().replaceAll('.', '-').replaceAll('@', '-')

/** A trailing date, build number or alias that names a release of a family, not another model. */
const RELEASE_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{2}-\d{4}|\d{2}-\d{2}|\d{8}|\d{6}|\d{3,4}|latest|preview|exp)$/

/** The id, then each shorter family it belongs to, by dropping release suffixes one at a time. */
export function familiesOf(model: string): string[] {
  const out = [normal(model).replace(/:[a-z]+$/, '')]
  for (let id = out[0]!; RELEASE_SUFFIX.test(id); ) {
    id = id.replace(RELEASE_SUFFIX, '')
    out.push(id)
  }
  return out
}

function lookUp(table: Record<string, ModelPrice> | undefined, model: string): ModelPrice | undefined {
  if (!table) return undefined
  const byNormal = new Map(Object.entries(table).map(([id, price]) => [normal(id), price]))
  for (const id of familiesOf(model)) {
    const price = byNormal.get(id)
    if (price) return price
  }
  return undefined
}

/** Which table prices a provider's models: its own, or by the API it speaks for a provider of another name. */
function tableOf(provider: string, style: KeyStyle): Record<string, ModelPrice> | undefined {
  if (PRICE_TABLE[provider]) return PRICE_TABLE[provider]
  if (style === 'anthropic') return PRICE_TABLE.anthropic
  if (style === 'google') return PRICE_TABLE.google
  return undefined
}

/** What `model` costs through `route`, or undefined when nothing says (a cap then refuses it). */
export function priceOf(route: { id: string; keyStyle: KeyStyle; prices: Record<string, ModelPrice> }, model: string): ModelPrice | undefined {
  const configured = lookUp(route.prices, model)
  if (configured) return configured
  if (route.id === 'openrouter') {
    const [vendor, ...rest] = model.split('/')
    const table = OPENROUTER_VENDORS[vendor ?? '']
    return table && rest.length ? lookUp(PRICE_TABLE[table], rest.join('/')) : undefined
  }
  return lookUp(tableOf(route.id, route.keyStyle), model)
}
