import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../local/stack'
import { BROWSER_KEY, openTab, startHarness, type Harness } from './harness'

/**
 * The served OpenAPI document and the /docs page rendered from it: the document validated
 * against OpenAPI 3.1's own schema, every route of the API in it, and
 * every route on the page with a working "try it".
 */

type Json = Record<string, any>
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

let h: Harness
let doc: Json

beforeAll(async () => {
  h = await startHarness('docs')
  const res = await fetch(`${h.stack.url}/openapi.json`)
  expect(res.status).toBe(200)
  doc = (await res.json()) as Json
})

afterAll(async () => {
  await h?.close()
})

/** `METHOD /path` for each operation of the document, paths in OpenAPI's `{param}` form. */
const operationsOf = (d: Json) =>
  Object.entries(d.paths as Json).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`))

/**
 * Every route the project says it has, from two places that do not come from the document:
 * the route table of docs/api.md, and the plain Hono registrations in src/api (the ones the document
 * does not pick up by itself), under the prefix app.ts mounts them at.
 */
function declaredRoutes(): string[] {
  const routes = new Set<string>()
  const apiDoc = readFileSync(join(PROJECT_ROOT, 'docs', 'api.md'), 'utf8')
  // the first cell of each row of the route table: `METHOD /path`, sometimes two to a cell
  for (const row of apiDoc.split('\n').filter((l) => /^\| `(GET|POST|PUT|PATCH|DELETE) \//.test(l))) {
    for (const m of row.split('|')[1]!.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[^`\s?]*)[^`]*`/g)) {
      routes.add(`${m[1]} ${m[2]!.replace(/:(\w+)/g, '{$1}')}`)
    }
  }
  const apiDir = join(PROJECT_ROOT, 'src', 'api')
  const app = readFileSync(join(apiDir, 'app.ts'), 'utf8')
  const prefixes = new Map<string, string>([['app', '']])
  for (const m of app.matchAll(/\.route\('([^']+)',\s*(\w+)\)/g)) prefixes.set(m[2]!, m[1]!)
  for (const file of readdirSync(apiDir).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(apiDir, file), 'utf8')
    for (const m of source.matchAll(/\b(\w+)\.(get|post|put|patch|delete)\('([^']+)'/g)) {
      const prefix = prefixes.get(m[1]!)
      if (prefix === undefined) continue
      const path = `${prefix}${m[3] === '/' ? '' : m[3]}`.replace(/:(\w+)/g, '{$1}') || '/'
      routes.add(`${m[2]!.toUpperCase()} ${path}`)
    }
  }
  // the document does not describe itself
  routes.delete('GET /openapi.json')
  return [...routes].sort()
}

/** Every `$ref` in the document, with where it sits. */
function refsOf(node: unknown, at = '#', out: [string, string][] = []): [string, string][] {
  if (Array.isArray(node)) node.forEach((v, i) => refsOf(v, `${at}/${i}`, out))
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push([at, v])
      else refsOf(v, `${at}/${k}`, out)
    }
  }
  return out
}

const pointer = (d: Json, ref: string) =>
  ref
    .replace(/^#\//, '')
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<any>((node, key) => (node === undefined ? undefined : node[key]), d)

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    // the official OpenAPI 3.1 JSON Schema, with JSON Schema 2020-12 for the schemas in it
    const validator = new Validator()
    const result = await validator.validate(doc)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
    const unresolved = refsOf(doc).filter(([, ref]) => !ref.startsWith('#/') || pointer(doc, ref) === undefined)
    expect(unresolved).toEqual([])
  })

  it('lists every route of the API', () => {
    const listed = new Set(operationsOf(doc))
    const declared = declaredRoutes()
    expect(declared.length).toBeGreaterThan(15)
    expect(declared.filter((r) => !listed.has(r))).toEqual([])
  })
})

describe('/docs', () => {
  it('renders every route with its parameters, body and responses, and tries one out', async () => {
    const tab = await openTab(h.browser, `${h.stack.url}/docs`)
    try {
      await tab.page.locator('body[data-ready=true]').waitFor()
      const shown = await tab.page.$$eval('section.op', (ops) => ops.map((o) => `${o.getAttribute('data-method')!.toUpperCase()} ${o.getAttribute('data-path')}`))
      expect(shown.sort()).toEqual(operationsOf(doc).sort())

      // one route in detail: its path parameter, body fields and responses, from the document
      const send = tab.page.locator('section.op[data-method=post][data-path="/v1/sessions/{id}/messages"]')
      expect(await send.locator('tr[data-param=id]').count()).toBe(1)
      expect(await send.locator('.request-body [data-prop=text]').textContent()).toContain('required')
      const statuses = await send.locator('.response').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-status')))
      expect(statuses).toEqual(expect.arrayContaining(['200', '202', '400', '401', '404']))

      // try it: create a session with a key typed into the page
      await tab.page.fill('#docs-key', BROWSER_KEY)
      const create = tab.page.locator('section.op[data-method=post][data-path="/v1/sessions"]')
      await create.locator('details.try summary').click()
      await create.locator('textarea[name=body]').fill('{"title":"from the docs page"}')
      await create.locator('button[type=submit]').click()
      await create.locator('.try-status[data-status="201"]').waitFor()
      // the status shows as soon as it arrives, the body once read
      await create.locator('.try-out:not(:empty)').waitFor()
      const created = JSON.parse((await create.locator('.try-out').textContent())!) as Json
      expect(created).toMatchObject({ title: 'from the docs page', status: 'starting' })

      // and end it again from the page, with a path parameter
      const end = tab.page.locator('section.op[data-method=delete][data-path="/v1/sessions/{id}"]')
      await end.locator('details.try summary').click()
      await end.locator('input[name=id]').fill(created.id)
      await end.locator('button[type=submit]').click()
      await end.locator('.try-status[data-status="200"]').waitFor()
      await end.locator('.try-out:not(:empty)').waitFor()
      expect(JSON.parse((await end.locator('.try-out').textContent())!)).toMatchObject({ id: created.id, status: 'ended' })

      for (const r of tab.requests) expect(r.url()).not.toContain(BROWSER_KEY)
      expect(tab.problems).toEqual([])
    } finally {
      await tab.close()
    }
  })
})
